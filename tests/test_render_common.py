"""The helpers every report shares: JSON that reads well and means the same, control characters made visible,
what fails a run, and the score."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from qsconform.conformance.judging import results
from qsconform.conformance.reporting.render import common
from qsconform.conformance.reporting.render.sample import sample_document

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)


@given(JSON, st.integers(min_value=0, max_value=100))
def test_compact_json_means_the_same(value, width):
    assert json.loads(common.compact_json(value, width)) == value


def test_compact_json_keeps_short_containers_on_one_line():
    text = common.compact_json({"answers": [[400, "InvalidParameterValueException"]], "long": ["x" * 80]})
    assert text.splitlines() == ['{', '  "answers": [[400, "InvalidParameterValueException"]],',
                                 '  "long": [', f'    "{"x" * 80}"', '  ]', '}']


@given(st.text())
def test_visible_leaves_no_control_character(text):
    shown = common.visible(text)
    assert not [c for c in shown if (ord(c) < 0x20 and c not in "\t\n\r") or 0x7f <= ord(c) <= 0x9f
                or 0xd800 <= ord(c) <= 0xdfff or c in "\ufffe\uffff"]


def test_visible_spells_control_characters_out():
    assert common.visible("a\x07b\x00\x85\ud800\uffffé\t\n") == "a\\x07b\\x00\\x85\\ud800\\uffffé\t\n"
    assert common.one_line("a\nb\tc  d", 6) == "a b c…"


def test_reproduce_text_says_how_far_the_example_was_shrunk():
    doc = {"seed": 5, "profile": "quick", "target": {"name": "moto"}}
    said = {key: common.reproduce_text(doc, example) for key, example in {
        "cut": {"minimal": True, "shrink_cut_short": True}, "minimal": {"minimal": True}, "first": {}}.items()}
    assert "qsconform run --target moto --profile quick --seed 5" in said["cut"]
    one_rule = common.reproduce_text({**doc, "target": {"name": "http://127.0.0.1:4566"}}, {"seed": 9},
                                     "RegisterUser.UserName.pattern")
    assert one_rule.endswith("qsconform run --target http://127.0.0.1:4566 --profile quick --seed 9 "
                             "--rule RegisterUser.UserName.pattern")
    assert "shrinking time was up" in said["cut"] and "thorough" in said["cut"]
    assert "minimal example" in said["minimal"] and "not shrunk" in said["first"]


def test_users_left_to_clean_up_are_told_in_every_report():
    from qsconform.conformance.reporting.render.html import render_html
    from qsconform.conformance.reporting.render.markdown import render_markdown
    from qsconform.conformance.reporting.render.sample import sample_document

    doc = sample_document()
    doc["target"] = {**doc["target"], "name": "http://127.0.0.1:4566", "users_left_behind": ["qsc-1a2b3c4d-x<y>"],
                     "users_maybe_created": ["alice"]}
    import html

    markdown, page = render_markdown(doc), render_html(doc)
    for report in (markdown, html.unescape(page)):
        assert "Could not delete 1 user(s) this run created" in report
        assert "may have registered 1 user(s) outside the run's prefix" in report and "alice" in report
        # never above the score
        assert report.index("Could not delete") > report.index("Score")
    assert "qsc-1a2b3c4d-x&lt;y&gt;" in page and "x<y>" not in page


def _doc(*statuses, strict=None):
    doc = {"rules": [{"id": f"Op.rule{i}", "operation": "Op", "status": s} for i, s in enumerate(statuses)]}
    if strict is not None:
        doc["strict"] = strict
    return doc


@pytest.mark.parametrize("statuses, strict, fails", [
    (("passed", "skipped", "unsent", "deselected", "inconclusive", "unsupported"), False, False),
    (("passed", "failed"), False, True),
    (("passed", "advisory"), False, False),
    (("passed", "advisory"), True, True),  # strict: an advisory fails the run
    (("passed", "advisory"), None, False),  # a document from before "strict": not strict
    (("passed", "quarantined"), True, False),  # an unknown status (a newer writer's) fails nothing
])
def test_what_fails_a_run(statuses, strict, fails):
    assert common.run_failed(_doc(*statuses, strict=strict)) is fails


def test_the_sample_fails_and_says_why():
    doc = sample_document()
    assert common.run_failed(doc)
    assert common.run_verdict(doc) == "4 rules failed: the run fails."


def test_statuses_are_the_tally_codes_own():
    assert common.STATUSES is results.STATUSES
    assert set(common.STATUSES) == set(common.READING_ORDER) == set(common.MEANINGS)
    assert common.statuses(_doc("passed", "quarantined"))[-1] == "quarantined"  # an unknown status comes last


def test_score_counts_an_advisory_as_not_failed():
    assert common.score({"passed": 3, "advisory": 1, "failed": 4, "unsent": 9}) == Fraction(1, 2)
    assert common.score({"advisory": 2}) == 1
    assert common.score({"skipped": 2, "deselected": 1}) is None
    assert common.advisories_text({"advisory": 3}) == "3 advisories"
    assert common.advisories_text({"advisory": 1}) == "1 advisory" and common.advisories_text({}) == ""


def test_level_shows_the_deviation_where_it_is_weaker_than_the_rule():
    assert common.level_text({"level": "MUST", "example": {"level": "SHOULD"}}) == "MUST, deviation SHOULD"
    assert common.level_text({"level": "SHOULD", "example": {"level": "SHOULD"}}) == "SHOULD"
    assert common.level_text({"level": "OBSERVED", "example": None}) == "OBSERVED"


def test_advisories_are_read_in_order_after_failures():
    doc = sample_document()
    listed = sorted(common.rules(doc), key=common.reading_key)
    assert [common.status_of(r) for r in listed][:6] == ["failed"] * 4 + ["advisory"] * 2
    assert [r["id"] for r in common.advisories(doc)] == ["RegisterUser.Email.max_length",
                                                          "UpdateUser.response.request-id-header"]


def test_the_request_is_shown_as_http_with_what_it_expects():
    example = {"request": {"operation": "RegisterUser", "path_params": {"AwsAccountId": "0", "Namespace": "default"},
                           "expected": {"kind": "error", "rule_id": "RegisterUser.AwsAccountId.min_length",
                                        "answers": [[400, "ValidationException"]], "operator": "below_min"},
                           "body": {"Email": "a"}},
               "curl": "curl --include -X POST 'http://127.0.0.1:5000/accounts/0/namespaces/default/users' "
                       "--aws-sigv4 aws:amz:us-east-1:quicksight --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" "
                       "-H \"X-Amz-Security-Token: $AWS_SESSION_TOKEN\" -H 'Content-Type: application/json' "
                       "--data-binary '{\"Email\":\"a\"}'"}
    text = common.request_text(example)
    assert text.splitlines()[:2] == ["POST /accounts/0/namespaces/default/users", "Content-Type: application/json"]
    assert '"rule_id"' not in text and "AWS_SESSION_TOKEN" not in text
    assert text.splitlines()[-1] == ("expected: a refusal, 400 ValidationException; the request breaks "
                                     "RegisterUser.AwsAccountId.min_length (below_min)")
    valid = {**example, "request": {**example["request"], "expected": {"kind": "success", "rule_id": None}}}
    assert common.request_text(valid).splitlines()[-1] == "expected: success (a valid request)"


def test_retried_server_errors_and_throttling_are_told_in_every_report():
    from qsconform.conformance.reporting.console import summary_lines
    from qsconform.conformance.reporting.render.html import render_html
    from qsconform.conformance.reporting.render.markdown import render_markdown
    from qsconform.conformance.reporting.render.sample import sample_document

    doc = sample_document()
    doc["server_errors_retried"] = {"requests": 3, "first": []}
    doc["throttling"] = {"throttled": 12, "gave_up": 1, "rate": 7.5, "adaptive": True}
    said = "throttled 12 time(s), 1 request(s) still throttled after every retry; the send rate settled at 7.5 requests/s"
    markdown, page, console = render_markdown(doc), render_html(doc), "\n".join(summary_lines(doc, width=500))
    for report in (markdown, page, console):
        assert said.lower() in report.lower() and "3 request(s) answered a documented server error" in report
    assert markdown.index("Throttled 12") > markdown.index("Score")
    quiet = sample_document()
    assert "time(s), " not in render_markdown(quiet) and "documented server error" not in render_html(quiet)


def test_the_request_line_is_the_one_recorded_when_it_was_sent():
    """A report written since the run records method, path and headers as sent reads them, not the curl line;
    an older one still has them read off its curl line."""
    curl = ("curl --include -X POST 'http://127.0.0.1:5000/accounts/0/namespaces/default/users' "
            "-H 'Content-Type: application/json' --data-binary '{}'")
    request = {"operation": "RegisterUser", "body": {}, "expected": {"kind": "success"}}
    recorded = {"request": {**request, "method": "PUT", "path": "/accounts/0/namespaces/default/users/a%2Fb",
                            "headers": {"Content-Type": "application/x-amz-json-1.1"}}, "curl": curl}
    assert common.request_text(recorded).splitlines()[:2] == [
        "PUT /accounts/0/namespaces/default/users/a%2Fb", "Content-Type: application/x-amz-json-1.1"]
    older = {"request": request, "curl": curl}
    assert common.request_text(older).splitlines()[:2] == [
        "POST /accounts/0/namespaces/default/users", "Content-Type: application/json"]
