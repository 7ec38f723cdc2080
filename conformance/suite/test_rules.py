"""One test per rule of the spec: its requests are drawn, sent and checked (see conformance/engine/run.py).

The verdict is the run's (conformance/judging/results.py); pytest's outcome is only read off it, so that
the exit code follows it: failed fails, advisory fails only under --strict (else it passes, tagged
advisory in Allure, its evidence attached), a deviation the baseline accepts is an expected failure,
and a rule that got no verdict is skipped with why.
"""
import pytest

from qsconform.conformance.reporting import allure_labels


def test_rule(rule, run, record_property):
    allure_labels.label(rule, run)
    if not rule.sent:  # a test of its own all the same, so that every rule is in every report
        allure_labels.verdict("unsent")
        record_property("qsconform_verdict", "unsent")
        pytest.skip(run.results.rules[rule.id].message)
    run.judge_rule(rule)  # or waits for it, judged side by side (conformance/engine/side_by_side.py)
    result = run.results.rules[rule.id]
    allure_labels.verdict(result.status)
    accepted = result.status in ("failed", "advisory") and run.recorder.accepted(result)
    # Its progress letter; a plain str, as xdist sends a worker's reports only with builtin types.
    record_property("qsconform_verdict", "accepted" if accepted else result.status.value)
    if result.example is not None:
        allure_labels.attach_evidence(result.example, result.status, run.recorder.rerun(result))
    if accepted:
        pytest.xfail(f"{result.status}, accepted in the baseline: {result.message}")
    # The message holds the evidence; a traceback through Hypothesis's engine says nothing more, and costs
    # time (docs/speed.md).
    if result.status == "failed" or (result.status == "advisory" and run.config.strict):
        pytest.fail(run.recorder.failure_text(result), pytrace=False)
    if result.status == "advisory":  # reported, not failing: the test passes as the run does (allure_labels.py)
        return
    if result.status != "passed":
        pytest.skip(f"{result.status}: {result.message}")
