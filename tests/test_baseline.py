"""Baselines: what a run records, how a later run is sorted against it, and how a bad file is reported."""
from __future__ import annotations

import json

import pytest

from conformance.baseline import (BaselineError, baseline_document, compare, load_baseline, write_baseline)
from conformance.render.sample import sample_document

FAILED = sorted(["RegisterUser.UserName.pattern", "RegisterUser.IamArn.iam-requires-arn",
                 "RegisterUser.response.content_type", "UpdateUser.lifecycle.missing-user-not-found"])


def _set(doc, rule_id, status):
    for rule in doc["rules"]:
        if rule["id"] == rule_id:
            rule["status"] = status
            return doc
    raise KeyError(rule_id)


@pytest.fixture
def written(tmp_path):
    doc = sample_document()
    path = write_baseline(doc, tmp_path / "baselines" / "moto.json", created="2026-11-23T08:00:00Z")
    return doc, path


def test_written_baseline_records_the_failures_sorted(written):
    doc, path = written
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == 1
    assert data["target"] == "moto"
    assert data["created"] == "2026-11-23T08:00:00Z"
    assert [a["rule"] for a in data["accepted"]] == FAILED
    pattern = next(a for a in data["accepted"] if a["rule"] == "RegisterUser.UserName.pattern")
    assert pattern["operation"] == "RegisterUser"
    assert pattern["message"].startswith("accepted with 200 <script>")
    assert not list(path.parent.glob(".*.tmp"))  # the partial file was renamed into place


def test_same_run_against_its_baseline_passes(written):
    doc, path = written
    outcome = compare(doc, load_baseline(path))
    assert outcome.exit_code == 0
    assert outcome.accepted == FAILED
    assert outcome.new_failures == outcome.fixed == outcome.unconfirmed == outcome.missing == []


def test_one_new_failure_fails_the_run(written):
    doc, path = written
    _set(doc, "UpdateUser.Role.enum", "failed")
    outcome = compare(doc, load_baseline(path))
    assert outcome.exit_code == 1
    assert outcome.new_failures == ["UpdateUser.Role.enum"]
    assert outcome.accepted == FAILED


def test_a_fixed_rule_is_listed_and_does_not_fail(written):
    doc, path = written
    _set(doc, "RegisterUser.UserName.pattern", "passed")
    outcome = compare(doc, load_baseline(path))
    assert outcome.exit_code == 0
    assert outcome.fixed == ["RegisterUser.UserName.pattern"]
    assert "RegisterUser.UserName.pattern" not in outcome.accepted


@pytest.mark.parametrize("status", ["unsupported", "skipped", "inconclusive", "not-run"])
def test_an_accepted_rule_not_judged_now_is_unconfirmed(written, status):
    doc, path = written
    _set(doc, "RegisterUser.UserName.pattern", status)
    outcome = compare(doc, load_baseline(path))
    assert outcome.unconfirmed == ["RegisterUser.UserName.pattern"]
    assert "RegisterUser.UserName.pattern" not in outcome.fixed + outcome.new_failures + outcome.accepted
    assert outcome.exit_code == 0


def test_an_accepted_rule_absent_from_the_run_is_missing(written):
    doc, path = written
    doc["rules"] = [r for r in doc["rules"] if r["id"] != "RegisterUser.IamArn.iam-requires-arn"]
    outcome = compare(doc, load_baseline(path))
    assert outcome.missing == ["RegisterUser.IamArn.iam-requires-arn"]
    assert outcome.exit_code == 0


def test_outcome_as_dict_is_json_for_compliance_json(written):
    doc, path = written
    _set(doc, "UpdateUser.Role.enum", "failed")
    as_dict = json.loads(json.dumps(compare(doc, load_baseline(path)).as_dict()))
    assert as_dict["new_failures"] == ["UpdateUser.Role.enum"]
    assert as_dict["exit_code"] == 1
    assert as_dict["file"] == str(path)
    assert as_dict["target"] == "moto" and as_dict["target_differs"] is False
    assert set(as_dict) >= {"accepted", "fixed", "unconfirmed", "missing", "created"}


def test_a_baseline_of_another_target_is_flagged(written):
    doc, path = written
    doc["target"]["name"] = "http://127.0.0.1:4566"
    assert compare(doc, load_baseline(path)).target_differs


def test_hand_written_baseline_with_extra_keys_loads(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema_version": 1, "accepted": [
        {"rule": "UpdateUser.Role.enum", "reason": "moto accepts any role, issue #123"}]}))
    baseline = load_baseline(path)
    assert baseline.rule_ids == {"UpdateUser.Role.enum"}
    assert baseline.target is None


def test_a_run_without_failures_writes_an_empty_baseline(tmp_path):
    doc = sample_document()
    for rule in doc["rules"]:
        rule["status"] = "passed"
    assert baseline_document(doc)["accepted"] == []
    assert compare(doc, load_baseline(write_baseline(doc, tmp_path / "b.json"))).exit_code == 0


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    ("{", "not JSON"),
    ("\xff", "not UTF-8"),
    ("[]", "must be object"),
    ('{"schema_version": 2, "accepted": []}', "schema_version 2 is not supported"),
    ('{"schema_version": 1}', "missing 'accepted'"),
    ('{"schema_version": 1, "accepted": {}}', "accepted: must be array"),
    ('{"schema_version": 1, "accepted": [{"operation": "UpdateUser"}]}', "accepted[0]: missing 'rule'"),
    ('{"schema_version": 1, "accepted": [{"rule": "a"}, {"rule": 7}]}', "accepted[1].rule: must be string"),
])
def test_a_bad_baseline_file_is_one_line_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "moto-baseline.json"
    if content == "\xff":
        path.write_bytes(b"\xff\xfe{")
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(BaselineError) as info:
        load_baseline(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert problem in message
