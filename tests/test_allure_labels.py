"""Allure labels: the verdict as a label of its own, and the evidence of a failure or an advisory attached."""
from __future__ import annotations

from types import SimpleNamespace

import allure
import pytest

from qsconform.conformance.reporting import allure_labels


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    monkeypatch.setattr(allure.dynamic, "label", lambda name, value: calls.append(("label", name, value)))
    monkeypatch.setattr(allure, "attach", lambda body, name, kind: calls.append(("attach", name, body)))
    return calls


def test_the_verdict_is_a_label_and_an_advisory_a_tag(recorded):
    allure_labels.verdict("advisory")
    assert recorded == [("label", "verdict", "advisory"), ("label", "tag", "advisory")]
    recorded.clear()
    allure_labels.verdict("failed")
    assert recorded == [("label", "verdict", "failed")]


def test_the_evidence_of_an_advisory_says_what_it_is(recorded):
    evidence = SimpleNamespace(message="answered 400 ValidationException", level="SHOULD",
                               request={"operation": "RegisterUser"}, response={"status": 400},
                               curl="curl -X POST http://127.0.0.1:5000/", seed=7)
    allure_labels.attach_evidence(evidence, "advisory")
    attached = {name: body for kind, name, body in recorded}
    assert list(attached) == ["deviation", "request", "response", "curl", "seed"]
    assert attached["deviation"] == "advisory [SHOULD]: answered 400 ValidationException"
    assert '"operation": "RegisterUser"' in attached["request"] and "--seed 7" in attached["seed"]


def test_a_failure_is_told_once(recorded):
    evidence = SimpleNamespace(message="accepted with 200", level="MUST", request={}, response={}, curl="curl", seed=7)
    allure_labels.attach_evidence(evidence, "failed", "qsconform run --target moto --seed 7 --rule R")
    attached = {name: body for kind, name, body in recorded}
    assert "deviation" not in attached and attached["seed"].endswith("--rule R")


@pytest.mark.e2e
def test_allure_results_are_a_tree_of_every_rule(tmp_path):
    """A run with --alluredir: target > operation > category, the rule id as title and parameter, a failure's
    error once, the rules never sent and those left out of the run present as skipped with why, and no
    teardown without a status."""
    import json
    import subprocess
    import sys

    from qsconform.spec.loader import default_spec

    spec = default_spec()
    results = tmp_path / "allure"
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference",
                           "--profile", "quick", "--examples", "0", "--seed", "4", "--report-dir", str(tmp_path / "r"),
                           "--alluredir", str(results), "--fault", "register-role-enum-unchecked", "--category", "constraint"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    tests = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    by_rule = {t["name"]: t for t in tests}
    constraint = {r.id for r in spec.rules if r.category == "constraint"}
    assert set(by_rule) == {r.id for r in spec.rules} and len(tests) == len(spec.rules)
    failed = by_rule["RegisterUser.UserRole.enum"]
    labels = {label["name"]: label["value"] for label in failed["labels"]}
    assert (labels["parentSuite"], labels["suite"], labels["subSuite"]) == ("target: reference", "RegisterUser", "constraint")
    assert failed["status"] == "failed" and [p["value"] for p in failed["parameters"] if p["name"] == "rule"] == \
        ["'RegisterUser.UserRole.enum'"]
    attachments = [a["name"] for a in failed.get("attachments", [])]
    assert "deviation" not in attachments and {"request", "response", "curl", "seed"} <= set(attachments)
    verdicts = {t["name"]: [label["value"] for label in t["labels"] if label["name"] == "verdict"] for t in tests}
    for rule in spec.rules:
        if not rule.sent:
            assert by_rule[rule.id]["status"] == "skipped" and "not sent" in by_rule[rule.id]["statusDetails"]["message"]
            assert verdicts[rule.id] == ["unsent"]
        elif rule.id not in constraint:
            assert by_rule[rule.id]["status"] == "skipped" and verdicts[rule.id] == ["deselected"], rule.id
            assert by_rule[rule.id]["statusDetails"]["message"] == "deselected: left out of this run (--category constraint)"
            labels = {label["name"]: label["value"] for label in by_rule[rule.id]["labels"]}
            assert (labels["parentSuite"], labels["suite"], labels["subSuite"]) == \
                ("target: reference", rule.operation, rule.category)
    document = json.loads((tmp_path / "r" / "compliance.json").read_text())
    assert {r["id"]: r["status"] for r in document["rules"]} == {name: v[0] for name, v in verdicts.items()}
    teardowns = [after for p in results.glob("*-container.json") for after in json.loads(p.read_text()).get("afters", [])]
    assert [a["name"] for a in teardowns] == ["run teardown"] and teardowns[0]["status"] == "passed"
