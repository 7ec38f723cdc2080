"""The summary printed at the end of a run."""
from qsconform.conformance.report import SHOWN_LEFT_BEHIND, summary_lines


def document(left_behind, maybe_created=()):
    return {"target": {"name": "moto", "endpoint": "http://127.0.0.1:5000", "user_prefix": "qsc-1a2b3c4d-",
                       "users_left_behind": left_behind, "users_maybe_created": list(maybe_created)},
            "seed": 1, "profile": "quick", "summary": {"operations": {"RegisterUser": {"passed": 2, "failed": 0}}},
            "rules": []}


def test_a_few_users_left_behind_are_all_named():
    lines = summary_lines(document(["qsc-1a2b3c4d-a", "qsc-1a2b3c4d-b"]))
    assert "Could not delete 2 user(s) this run created: qsc-1a2b3c4d-a, qsc-1a2b3c4d-b " \
           "(qsconform sweep --prefix qsc-1a2b3c4d-)" in lines


def test_many_users_left_behind_are_counted_not_listed():
    names = [f"qsc-1a2b3c4d-{i}" for i in range(151)]
    [line] = [line for line in summary_lines(document(names)) if line.startswith("Could not delete")]
    assert line.startswith("Could not delete 151 user(s)")
    assert names[SHOWN_LEFT_BEHIND - 1] in line and names[SHOWN_LEFT_BEHIND] not in line
    assert f"and {151 - SHOWN_LEFT_BEHIND} more (all in compliance.json)" in line
    assert "qsconform sweep --prefix qsc-1a2b3c4d-" in line


def test_nothing_left_behind_says_nothing():
    assert not any(line.startswith("Could not delete") for line in summary_lines(document([])))


def test_users_an_interrupted_request_may_have_registered_are_told_apart():
    lines = summary_lines(document([], ["alice"]))
    assert not any(line.startswith("Could not delete") for line in lines)
    assert "An interrupted request may have registered 1 user(s) outside the run's prefix, " \
           "left untouched (they may not be this run's): alice" in lines


def test_advisories_follow_the_failures_and_the_report_path_stays_last(tmp_path):
    from qsconform.conformance.render.sample import sample_document

    lines = summary_lines(sample_document(), tmp_path)
    failed = [i for i, line in enumerate(lines) if line.startswith("FAILED ")]
    advisory = [i for i, line in enumerate(lines) if line.startswith("ADVISORY ")]
    assert len(failed) == 4 and len(advisory) == 2 and max(failed) < min(advisory)
    assert lines[advisory[0]] == ("ADVISORY RegisterUser.Email.max_length [MUST, deviation SHOULD] answered 400 "
                                  "ValidationException; the inferred error type is InvalidParameterValueException <i>|")
    assert lines[advisory[1]] == ("ADVISORY UpdateUser.response.request-id-header [SHOULD] "
                                  "no x-amzn-RequestId header in the answer")
    assert "  UpdateUser: 2 passed, 1 failed, 1 advisory" in lines
    assert "1 unsent, 1 deselected" in next(line for line in lines if line.startswith("  RegisterUser: "))
    assert lines[-1] == f"report: {tmp_path / 'compliance.json'} (also .md, .html, junit.xml)"


def test_a_baseline_names_its_new_advisories():
    from qsconform.conformance.baseline import Accepted, Baseline, compare
    from qsconform.conformance.render.sample import sample_document

    doc = sample_document()
    doc["baseline"] = compare(doc, Baseline("moto", None, (Accepted("RegisterUser.UserName.pattern"),),
                                            path=None)).as_dict()
    lines = summary_lines(doc)
    assert "baseline None: 3 new failure(s), 2 new advisory(ies), 1 accepted, 0 fixed" in lines
    assert lines[-2:] == ["NEW ADVISORY RegisterUser.Email.max_length",
                          "NEW ADVISORY UpdateUser.response.request-id-header"]
