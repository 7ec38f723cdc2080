"""Allure labels and attachments for each rule's test (no-ops unless --alluredir is given).

epic = the target, feature = the operation, story = the rule's category,
severity from the rule's level, and the rule id as a label of its own.
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


def attach_evidence(evidence) -> None:
    """The failing exchange; Evidence is already redacted of credentials."""
    allure.attach(json.dumps(evidence.request, indent=2, ensure_ascii=False), "request",
                  allure.attachment_type.JSON)
    allure.attach(json.dumps(evidence.response, indent=2, ensure_ascii=False), "response",
                  allure.attachment_type.JSON)
    allure.attach(evidence.curl, "curl", allure.attachment_type.TEXT)
    allure.attach(f"{evidence.seed}\nqsconform run --seed {evidence.seed}", "seed", allure.attachment_type.TEXT)
