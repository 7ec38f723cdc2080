"""One test per rule of the spec: its requests are drawn, sent and checked (see conformance/run.py)."""
import contextlib

import pytest

from conformance import allure_labels
from conformance.run import RuleFailure


def test_rule(rule, run):
    allure_labels.label(rule, run)
    judging = run.cassette.judging(rule.id) if run.cassette is not None else contextlib.nullcontext()
    try:
        with judging:  # a recording names the rule each exchange was sent for
            run.check_rule(rule)
        return
    except RuleFailure as failure:
        allure_labels.attach_evidence(failure.evidence)
        message = str(failure)
    # The message holds the evidence; a traceback through Hypothesis's engine says nothing more,
    # and formatting one per failed rule cost a quarter of a run against moto.
    pytest.fail(message, pytrace=False)
