"""Allure labels: the verdict as a label of its own, and the evidence of a failure or an advisory attached."""
from __future__ import annotations

from types import SimpleNamespace

import allure
import pytest

from qsconform.conformance import allure_labels


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    monkeypatch.setattr(allure.dynamic, "label", lambda name, value: calls.append(("label", name, value)))
    monkeypatch.setattr(allure, "attach", lambda body, name, kind: calls.append(("attach", name, body)))
    return calls


def test_the_verdict_is_a_label(recorded):
    allure_labels.verdict("advisory")
    assert recorded == [("label", "verdict", "advisory")]


def test_the_evidence_of_an_advisory_says_what_it_is(recorded):
    evidence = SimpleNamespace(message="answered 400 ValidationException", level="SHOULD",
                               request={"operation": "RegisterUser"}, response={"status": 400},
                               curl="curl -X POST http://127.0.0.1:5000/", seed=7)
    allure_labels.attach_evidence(evidence, "advisory")
    attached = {name: body for kind, name, body in recorded}
    assert list(attached) == ["deviation", "request", "response", "curl", "seed"]
    assert attached["deviation"] == "advisory [SHOULD]: answered 400 ValidationException"
    assert '"operation": "RegisterUser"' in attached["request"] and "--seed 7" in attached["seed"]
