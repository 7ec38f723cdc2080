"""Allure labels and attachments for each rule's test (no-ops unless --alluredir is given).

The tree: parent suite = the target, suite = the operation, sub-suite = the rule's category (and the
same as epic, feature, story for the behaviours view); severity from the rule's level, the rule id as
the test's title, its parameter and a label of its own; once the rule is judged, its verdict (passed,
failed, advisory, ...) as the label "verdict".
"""
from __future__ import annotations

import json

import allure

SEVERITY = {"MUST": allure.severity_level.CRITICAL, "OBSERVED": allure.severity_level.NORMAL,
            "SHOULD": allure.severity_level.MINOR}


def label(rule, run) -> None:
    target = f"target: {run.config.target}"
    allure.dynamic.parent_suite(target)
    allure.dynamic.suite(rule.operation)
    allure.dynamic.sub_suite(rule.category)
    allure.dynamic.epic(target)
    allure.dynamic.feature(rule.operation)
    allure.dynamic.story(rule.category)
    allure.dynamic.parameter("rule", rule.id)  # instead of the Rule's repr
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


def attach_evidence(evidence, status: str = "failed", rerun: str | None = None) -> None:
    """The exchange that shows a deviation, for a failed or an advisory rule alike. An advisory says what it
    is (a failure's message is already the test's error: once is enough). Evidence is already redacted."""
    if status != "failed":
        allure.attach(f"{status} [{evidence.level}]: {evidence.message}", "deviation", allure.attachment_type.TEXT)
    allure.attach(json.dumps(evidence.request, indent=2, ensure_ascii=False), "request",
                  allure.attachment_type.JSON)
    allure.attach(json.dumps(evidence.response, indent=2, ensure_ascii=False), "response",
                  allure.attachment_type.JSON)
    allure.attach(evidence.curl, "curl", allure.attachment_type.TEXT)
    allure.attach(f"{evidence.seed}\n{rerun or f'qsconform run --seed {evidence.seed}'}", "seed",
                  allure.attachment_type.TEXT)
    if getattr(evidence, "server_log", ()):  # a server the run started: what it logged while answering
        allure.attach("\n".join(evidence.server_log), "server log", allure.attachment_type.TEXT)
