"""Allure labels and attachments for each rule's test (no-ops unless --alluredir is given).

epic = the target, feature = the operation, story = the rule's category,
severity from the rule's level, and the rule id as a label of its own;
once the rule is judged, its verdict (passed, failed, advisory, ...) as the label "verdict".
"""
from __future__ import annotations

import json

import allure

SEVERITY = {"MUST": allure.severity_level.CRITICAL, "OBSERVED": allure.severity_level.NORMAL,
            "SHOULD": allure.severity_level.MINOR}


def label(rule, run) -> None:
    allure.dynamic.epic(f"target: {run.config.target}")
    allure.dynamic.feature(rule.operation)
    allure.dynamic.story(rule.category)
    allure.dynamic.severity(SEVERITY[rule.level])
    allure.dynamic.label("rule_id", rule.id)
    allure.dynamic.label("level", rule.level)
    allure.dynamic.title(rule.id)
    allure.dynamic.description(f"{rule.level}. Source: {rule.source}")
    allure.dynamic.parameter("seed", run.seed)


def verdict(status: str) -> None:
    """The rule's status as a label: Allure's own statuses cannot tell an advisory (a passing, expected-to-fail
    or, under --strict, failing test) from a failure, nor unsent from deselected."""
    allure.dynamic.label("verdict", status)


def attach_evidence(evidence, status: str = "failed") -> None:
    """The exchange that shows a deviation, for a failed or an advisory rule alike, with what it is: the
    status and the level of the deviation. Evidence is already redacted of credentials."""
    allure.attach(f"{status} [{evidence.level}]: {evidence.message}", "deviation", allure.attachment_type.TEXT)
    allure.attach(json.dumps(evidence.request, indent=2, ensure_ascii=False), "request",
                  allure.attachment_type.JSON)
    allure.attach(json.dumps(evidence.response, indent=2, ensure_ascii=False), "response",
                  allure.attachment_type.JSON)
    allure.attach(evidence.curl, "curl", allure.attachment_type.TEXT)
    allure.attach(f"{evidence.seed}\nqsconform run --seed {evidence.seed}", "seed", allure.attachment_type.TEXT)
