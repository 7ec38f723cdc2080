"""Baselines: what a run records, how a later run is sorted against it, and how a bad file is reported."""
from __future__ import annotations

import json

import pytest

from qsconform.conformance.judging.baseline import (Accepted, Baseline, BaselineError, baseline_document, compare, load_baseline,
                                                    write_baseline)
from qsconform.conformance.reporting.render.sample import sample_document

FAILED = sorted(["RegisterUser.UserName.pattern", "RegisterUser.IamArn.iam-requires-arn",
                 "RegisterUser.response.content_type", "UpdateUser.lifecycle.missing-user-not-found"])
ADVISORIES = ["RegisterUser.Email.max_length", "UpdateUser.response.request-id-header"]
DEVIATING = sorted(FAILED + ADVISORIES)


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


def test_written_baseline_records_the_failures_and_advisories_sorted(written):
    doc, path = written
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == 1
    assert data["target"] == "moto"
    assert data["created"] == "2026-11-23T08:00:00Z"
    assert [a["rule"] for a in data["accepted"]] == DEVIATING
    assert {a["rule"]: a["status"] for a in data["accepted"]} == {**dict.fromkeys(FAILED, "failed"),
                                                                   **dict.fromkeys(ADVISORIES, "advisory")}
    pattern = next(a for a in data["accepted"] if a["rule"] == "RegisterUser.UserName.pattern")
    assert pattern["operation"] == "RegisterUser"
    assert pattern["message"].startswith("accepted with 200 <script>")
    assert not list(path.parent.glob(".*.tmp"))  # the partial file was renamed into place


def test_same_run_against_its_baseline_passes(written):
    doc, path = written
    outcome = compare(doc, load_baseline(path))
    assert outcome.exit_code == 0
    assert outcome.accepted == DEVIATING
    assert outcome.new_failures == outcome.new_advisories == outcome.fixed == outcome.unconfirmed == []
    assert outcome.missing == []


def test_one_new_failure_fails_the_run(written):
    doc, path = written
    _set(doc, "UpdateUser.Role.enum", "failed")
    outcome = compare(doc, load_baseline(path))
    assert outcome.exit_code == 1
    assert outcome.new_failures == ["UpdateUser.Role.enum"]
    assert outcome.accepted == DEVIATING


def test_a_new_advisory_is_listed_and_fails_the_run_only_when_strict(written):
    doc, path = written
    _set(doc, "UpdateUser.Role.enum", "advisory")
    outcome = compare(doc, load_baseline(path))
    assert outcome.new_advisories == ["UpdateUser.Role.enum"] and outcome.new_failures == []
    assert outcome.accepted == DEVIATING
    assert outcome.exit_code == 0
    assert compare(doc, load_baseline(path), strict=True).exit_code == 1
    doc["strict"] = True  # without strict=..., the run's own strictness decides
    assert compare(doc, load_baseline(path)).exit_code == 1
    assert compare(doc, load_baseline(path), strict=False).exit_code == 0


def test_a_rule_accepted_as_advisory_that_now_fails_is_a_new_failure(written):
    doc, path = written
    _set(doc, "RegisterUser.Email.max_length", "failed")
    outcome = compare(doc, load_baseline(path))
    assert outcome.new_failures == ["RegisterUser.Email.max_length"] and outcome.exit_code == 1
    assert "RegisterUser.Email.max_length" not in outcome.accepted


def test_a_rule_accepted_as_failed_that_is_now_advisory_stays_accepted(written):
    doc, path = written
    _set(doc, "RegisterUser.UserName.pattern", "advisory")
    outcome = compare(doc, load_baseline(path), strict=True)
    assert "RegisterUser.UserName.pattern" in outcome.accepted
    assert outcome.new_advisories == [] and outcome.exit_code == 0


def test_a_baseline_written_before_advisories_accepts_failures(tmp_path):
    """Entries without "status" are failures: they accept the rule failing, or, weaker, advisory."""
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema_version": 1, "target": "moto", "created": None, "accepted": [
        {"rule": "RegisterUser.UserName.pattern", "operation": "RegisterUser", "message": "m"},
        {"rule": "RegisterUser.Email.max_length"}]}))
    baseline = load_baseline(path)
    assert {a.status for a in baseline.accepted} == {"failed"}
    outcome = compare(sample_document(), baseline)
    assert outcome.accepted == ["RegisterUser.Email.max_length", "RegisterUser.UserName.pattern"]
    assert "RegisterUser.Email.max_length" not in outcome.new_advisories

def test_a_fixed_rule_is_listed_and_does_not_fail(written):
    doc, path = written
    _set(doc, "RegisterUser.UserName.pattern", "passed")
    outcome = compare(doc, load_baseline(path))
    assert outcome.exit_code == 0
    assert outcome.fixed == ["RegisterUser.UserName.pattern"]
    assert "RegisterUser.UserName.pattern" not in outcome.accepted


@pytest.mark.parametrize("status", ["inconclusive", "unsupported", "skipped", "unsent", "deselected", "not-run"])
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
    _set(doc, "UpdateUser.Email.required", "advisory")
    as_dict = json.loads(json.dumps(compare(doc, load_baseline(path)).as_dict()))
    assert as_dict["new_failures"] == ["UpdateUser.Role.enum"]
    assert as_dict["new_advisories"] == ["UpdateUser.Email.required"]
    assert as_dict["exit_code"] == 1 and as_dict["strict"] is False
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


def test_the_written_file_loads_back_as_it_was_accepted(written):
    _, path = written
    first = load_baseline(path).accepted[0]
    assert (first.rule, first.operation, first.status) == ("RegisterUser.Email.max_length", "RegisterUser", "advisory")
    baseline = Baseline("moto", None, (Accepted("a", status="advisory"), Accepted("b")))
    assert baseline.accepts("a", "advisory") and not baseline.accepts("a", "failed")
    assert baseline.accepts("b", "failed") and baseline.accepts("b", "advisory") and not baseline.accepts("c", "failed")


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
    ('{"schema_version": 1, "accepted": [{"rule": "a", "status": "passed"}]}',
     "accepted[0].status: must be one of"),
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
