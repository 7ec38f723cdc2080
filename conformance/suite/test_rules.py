"""One test per rule of the spec: its requests are drawn, sent and checked (see conformance/run.py)."""
from conformance import allure_labels
from conformance.run import RuleFailure


def test_rule(rule, run):
    allure_labels.label(rule, run)
    try:
        run.check_rule(rule)
    except RuleFailure as failure:
        allure_labels.attach_evidence(failure.evidence)
        raise
