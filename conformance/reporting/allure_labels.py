"""Allure labels and attachments for each rule's test (no-ops unless --alluredir is given).

The tree: parent suite = the target, suite = the operation, sub-suite = the rule's category (and the
same as epic, feature, story for the behaviours view); severity from the rule's level, the rule id as
the test's title, its parameter and a label of its own; once the rule is judged, its verdict (passed,
failed, advisory, ...) as the label "verdict".

History: a test's history id is its rule (Rule's repr is its id); the seed is a parameter Allure shows but
leaves out of the history id (excluded), so history, retries and flaky detection connect runs whatever
their seeds.

Advisories: Allure's statuses say failed (the check failed), broken (the test itself broke), skipped (not
run). An advisory is none of these: the rule was judged, the target deviates only from an inference, and the
run passes. So its test passes, as the run does, tagged "advisory" with the deviation and its evidence
attached: Allure's success rate then counts it as qsconform's score does (not a failure), and a reader finds
every advisory by that tag (or the verdict label). Under --strict an advisory fails the run, and its test.
"""
from __future__ import annotations

import json

import allure

SEVERITY = {"MUST": allure.severity_level.CRITICAL, "OBSERVED": allure.severity_level.NORMAL,
            "SHOULD": allure.severity_level.MINOR}


def labels_of(rule, target: str) -> list[tuple[str, str]]:
    """The labels that place a rule in the tree and say how much it weighs."""
    where = f"target: {target}"
    return [("parentSuite", where), ("suite", rule.operation), ("subSuite", rule.category),
            ("epic", where), ("feature", rule.operation), ("story", rule.category),
            ("severity", SEVERITY[rule.level].value), ("rule_id", rule.id), ("level", rule.level)]


def _description(rule) -> str:
    return f"{rule.level}. Source: {rule.source}"


def label(rule, run) -> None:
    for name, value in labels_of(rule, run.config.target):
        allure.dynamic.label(name, value)
    allure.dynamic.parameter("rule", rule.id)  # instead of the Rule's repr
    allure.dynamic.title(rule.id)
    allure.dynamic.description(_description(rule))
    allure.dynamic.parameter("seed", run.seed, excluded=True)  # shown, not part of the history id


def report_unrun(rules_and_why, target: str) -> None:
    """A result for each rule pytest never ran (--rule, --level, --category, -k left it out), skipped with why and
    its verdict (deselected, or unsent for a rule the suite never sends): allure-pytest knows nothing of them,
    yet every rule belongs in the tree. `rules_and_why`: (rule, verdict, why) triples."""
    from allure_commons import plugin_manager
    from allure_commons.model2 import Label, Parameter, Status, StatusDetails, TestResult
    from allure_commons.utils import md5, now, uuid4

    full_name = "conformance.suite.test_rules#test_rule"  # as allure-pytest names the test of every rule
    for rule, status, why in rules_and_why:
        parameter = repr(rule.id)
        at = now()
        # the history id allure-pytest gives a judged rule's test: its full name and the Rule (its repr: the id)
        result = TestResult(uuid=uuid4(), name=rule.id, fullName=full_name, testCaseId=md5(full_name),
                            historyId=md5(full_name, rule), description=_description(rule),
                            status=Status.SKIPPED, statusDetails=StatusDetails(message=why), start=at, stop=at,
                            labels=[Label(n, v) for n, v in labels_of(rule, target)] + [Label("verdict", status)],
                            parameters=[Parameter(name="rule", value=parameter)])
        plugin_manager.hook.report_result(result=result)


def verdict(status: str) -> None:
    """The rule's status as a label: Allure's own statuses cannot tell an advisory (a passing or, under --strict,
    failing test) from a pass or a failure, nor unsent from deselected. An advisory is also a tag (see above)."""
    allure.dynamic.label("verdict", status)
    if status == "advisory":
        allure.dynamic.tag("advisory")


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
