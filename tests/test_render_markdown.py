"""compliance.md: right numbers, tables that stay tables whatever a target answers, evidence in code blocks,
advisories beside failures."""
from __future__ import annotations

import re

import pytest

from qsconform.conformance.judging.baseline import Accepted, Baseline, compare
from qsconform.conformance.reporting.render import common
from qsconform.conformance.reporting.render.markdown import DETAILS_LIMIT, render_markdown
from qsconform.conformance.reporting.render.sample import sample_document

FAILED = ["RegisterUser.IamArn.iam-requires-arn", "RegisterUser.UserName.pattern",
          "RegisterUser.response.content_type", "UpdateUser.lifecycle.missing-user-not-found"]
ADVISORIES = ["RegisterUser.Email.max_length", "UpdateUser.response.request-id-header"]
OTHERS = ["inconclusive", "unsupported", "skipped", "unsent", "not-run", "deselected"]


def split_fences(markdown: str) -> tuple[list[str], list[str]]:
    """(lines outside fenced code blocks, bodies of the blocks), by CommonMark's fence rule: a block
    closes at a line of at least as many backticks as opened it, and nothing else."""
    outside, blocks, fence, body = [], [], None, []
    for line in markdown.split("\n"):
        if fence is None:
            opened = re.match(r"(`{3,})[^`]*$", line)
            if opened:
                fence, body = opened.group(1), []
            else:
                outside.append(line)
        elif re.fullmatch(r"`{%d,}\s*" % len(fence), line):
            blocks.append("\n".join(body))
            fence = None
        else:
            body.append(line)
    assert fence is None, "a fenced block is never closed"
    return outside, blocks


def cells(row: str) -> list[str]:
    """A GFM table row's cells: `\\` escapes the next character (so `\\|` is no separator)."""
    tokens = re.findall(r"\\.|\||[^\\|]+", row.strip())
    out, cell = [], ""
    for token in tokens:
        if token == "|":
            out.append(cell)
            cell = ""
        else:
            cell += token
    out.append(cell)
    assert out[0] == "" and out[-1] == "", f"row does not start and end with a pipe: {row!r}"
    return [c.strip() for c in out[1:-1]]


def tables(lines: list[str]) -> list[list[list[str]]]:
    found, current = [], []
    for line in lines + [""]:
        if line.startswith("|"):
            current.append(cells(line))
        elif current:
            found.append(current)
            current = []
    return found


def table_after(markdown: str, heading: str) -> list[list[str]]:
    outside, _ = split_fences(markdown)
    start = next(i for i, line in enumerate(outside) if line.startswith(heading))
    return tables(outside[start:])[0]


@pytest.fixture
def doc():
    return sample_document()


@pytest.fixture
def md(doc):
    return render_markdown(doc)


def test_header_names_target_seed_profile_and_versions(md):
    head = md.split("## Score")[0]
    for fact in ("moto", "http://127.0.0.1:5000", "**seed** 123", "**profile** quick", "0123456789ab",
                 "hypothesis 6.155.2", "botocore 1.43.11"):
        assert fact in head


def test_merged_report_says_so(doc):
    assert "merged from" not in render_markdown(doc)
    doc["merged_from"] = 3
    assert "merged from 3 reports" in render_markdown(doc).split("## Score")[0]


def test_score_table_numbers(md):
    rows = table_after(md, "## Score")
    assert rows[0] == ["Operation", "Score", "passed", "failed", "advisory", "inconclusive", "unsupported", "skipped",
                       "unsent", "not-run", "deselected"]
    # score = (passed + advisory) / (passed + advisory + failed): 5/8, 3/4, 8/12
    assert rows[2] == ["RegisterUser", "62.5 %", "4", "3", "1", "1", "1", "1", "1", "0", "1"]
    assert rows[3] == ["UpdateUser", "75 %", "2", "1", "1", "0", "0", "0", "0", "0", "0"]
    assert rows[4] == ["**Total**", "**66.7 %**", *(f"**{n}**" for n in (6, 4, 2, 1, 1, 1, 1, 0, 1))]


def test_every_table_keeps_its_shape(md):
    outside, _ = split_fences(md)
    found = tables(outside)
    assert len(found) == 4  # score, failures, advisories, other statuses
    for table in found:
        assert len({len(row) for row in table}) == 1, table


def test_failure_rows_are_escaped(md):
    rows = table_after(md, "## Failed rules")
    assert rows[0] == ["Rule", "Level", "Category", "Message"]
    assert [row[0].strip("`") for row in rows[2:]] == FAILED
    hostile = rows[2 + FAILED.index("RegisterUser.UserName.pattern")]
    assert hostile[1:3] == ["MUST", "constraint"]
    message = hostile[3]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message
    assert "\\|" in message and "back\\\\\\|slash" in message  # the pipe and the backslash both escaped
    assert "é" in message and "\\\\x07" in message  # BEL spelled out, its backslash escaped


def test_nothing_hostile_outside_code_blocks(md):
    outside, _ = split_fences(md)
    text = "\n".join(outside)
    assert "<script" not in text
    assert "\x07" not in md
    # the only raw HTML is ours: one <details> per failure, per advisory and per non-empty other status, and one
    # for the server log of the failure that has one; each closed
    assert text.count("<details>") == text.count("</details>") == len(FAILED) + len(ADVISORIES) + len(OTHERS) - 1 + 1  # not-run: none


def test_details_hold_request_response_curl_and_seed(md):
    outside, blocks = split_fences(md)
    evidence = md.split("### Evidence")[1].split("## Advisories")[0]
    assert evidence.count("<details>") == len(FAILED) + 1  # and the server log of one
    for rule_id in FAILED:
        assert f"<summary><code>{rule_id}</code>" in evidence
    # three failures and two advisories have an example: request, response, curl, reproduce, stand-alone
    # reproduction and its steps blocks for each, and one of them a server log
    assert len(blocks) == (3 + 2) * 6 + 1
    assert any(b.startswith("# from the report's directory") and "sh repro.sh" in b for b in blocks)
    response = next(b for b in blocks if "<script>alert(1)</script>" in b)
    assert response.startswith("HTTP 200")
    assert "``` fence" in response  # the body's backticks stayed inside a longer fence
    assert any('"UserName": "é|<x>"' in b for b in blocks)
    assert any(b.startswith("curl --include") for b in blocks)
    assert any("qsconform run --target moto --profile quick --seed 123" in b for b in blocks)
    assert "No example was recorded for this rule." in evidence  # content_type has none


def test_other_statuses_counted(md):
    rows = table_after(md, "## Other statuses")
    assert [row[:2] for row in rows[2:]] == [[status, "0" if status == "not-run" else "1"] for status in OTHERS]
    meaning = {row[0]: row[2] for row in rows[2:]}
    assert meaning["unsent"] == "no source says what the real API answers, so the suite sends nothing for it"
    assert meaning["deselected"].startswith("left out of this run")
    assert "- `RegisterUser.lifecycle.duplicate-refused`: inconclusive: still throttled after retries" in md
    assert ("- `RegisterUser.role-arn-needs-sessionname`: not sent: what the real API does with a role ARN and "
            "no SessionName has not been seen") in md


def test_no_failure_says_so(doc):
    for rule in doc["rules"]:
        if rule["status"] == "failed":
            rule["status"], rule["example"] = "passed", None
    md = render_markdown(doc)
    failures = md.split("## Failed rules")[1].split("## Advisories")[0]
    assert "No rule failed." in failures and "<details><summary><code>" not in failures
    assert table_after(md, "## Score")[-1][1] == "**100 %**"  # advisories are not failures
    assert "**No rule failed: the run passes. 2 advisories listed: they fail a run only under --strict.**" in md


def test_advisories_are_listed_beside_failures_with_their_evidence(md):
    assert md.index("## Failed rules") < md.index("## Advisories (2)") < md.index("## Other statuses")
    assert "they do not fail the run unless it is strict (--strict)" in md
    rows = table_after(md, "## Advisories")
    assert [row[0].strip("`") for row in rows[2:]] == ADVISORIES
    # a MUST rule whose only deviation is against an inferred part of it: both levels shown
    assert rows[2][1:3] == ["MUST, deviation SHOULD", "constraint"] and rows[3][1] == "SHOULD"
    assert "&lt;i&gt;\\|" in rows[2][3]  # escaped like any message from a target
    evidence = md.split("## Advisories")[1].split("## Other statuses")[0]
    assert evidence.count("<details>") == len(ADVISORIES)
    assert "<summary><code>RegisterUser.Email.max_length</code> [MUST, deviation SHOULD]" in evidence
    assert "1 of 9 examples deviated." in evidence
    _, blocks = split_fences(evidence)
    assert any('"__type": "ValidationException"' in b and b.startswith("HTTP 400") for b in blocks)
    assert any("qsconform run --target moto --profile quick --seed 77" in b for b in blocks)


def test_a_strict_run_fails_on_its_advisories(doc):
    for rule in doc["rules"]:
        if rule["status"] == "failed":
            rule["status"], rule["example"] = "passed", None
    doc["strict"] = True
    md = render_markdown(doc)
    assert "**strict** (advisories fail the run)" in md.split("## Score")[0]
    assert "**No rule failed, but 2 advisories: the run fails (--strict).**" in md
    assert "this run is strict (--strict): they fail it." in md


def test_a_document_written_before_advisories_renders(doc):
    """Written before "strict" and "level", by a writer with a status this version does not know: shown as a status
    of its own."""
    del doc["strict"]
    for rule in doc["rules"]:
        if rule["status"] in ("advisory", "unsent", "deselected"):
            rule["status"] = "quarantined"
        if rule["example"]:
            del rule["example"]["level"]
    md = render_markdown(doc)
    assert table_after(md, "## Score")[0][-1] == "quarantined"
    rows = table_after(md, "## Other statuses")
    assert ["quarantined", "4", "a status this version of qsconform does not know (quarantined)"] in rows
    assert "No advisory." in md and "**4 rules failed: the run fails.**" in md


def test_many_failures_are_capped_for_the_step_summary(doc):
    template = next(r for r in doc["rules"] if r["id"] == "RegisterUser.UserName.pattern")
    for n in range(DETAILS_LIMIT + 10):
        doc["rules"].append(dict(template, id=f"RegisterUser.Extra{n:03}.pattern"))
    md = render_markdown(doc)
    assert md.count("<details><summary><code>") == DETAILS_LIMIT  # failures first, then advisories, together
    assert f"and {len(FAILED) + DETAILS_LIMIT + 10 - DETAILS_LIMIT} more failures" in md
    assert f"and {len(ADVISORIES)} more advisories" in md
    assert len(md.encode()) < 1024 * 1024


def test_baseline_sections(doc):
    baseline = Baseline("moto", "2026-11-01T00:00:00Z",
                        (Accepted("RegisterUser.UserName.pattern"), Accepted("RegisterUser.Email.required"),
                         Accepted("RegisterUser.Tags.min_items"), Accepted("RegisterUser.Gone.rule")))
    outcome = compare(doc, baseline)
    md = render_markdown(doc, outcome)
    assert "**3 new failures: the run fails.**" in md
    # the baseline's verdict opens the report: before the score and every listing
    assert md.index("## Baseline") < md.index("**3 new failures") < md.index("## Score") < md.index("## Failed rules")
    assert md.index("### Fixed since the baseline") < md.index("## Score")
    assert md.index("<details><summary>Still accepted (1)</summary>") < md.index("## Score")  # folded
    new = md.split("### New failures (3)")[1].split("###")[0]
    assert "`RegisterUser.IamArn.iam-requires-arn`" in new and "`RegisterUser.UserName.pattern`" not in new
    assert "### Fixed since the baseline (1)" in md and "- `RegisterUser.Email.required`" in md
    assert "### Unconfirmed (1)" in md and "- `RegisterUser.Tags.min_items` (skipped)" in md
    assert "### Missing from this run (1)" in md and "- `RegisterUser.Gone.rule`" in md
    assert "Still accepted (1)" in md
    new_advisories = md.split("### New advisories (2)")[1].split("###")[0]
    assert "they fail a run only under --strict" in new_advisories
    assert all(f"`{rule_id}`" in new_advisories for rule_id in ADVISORIES)
    advisory_rows = table_after(md, "## Advisories")[2:]
    assert {row[0].strip("`"): row[-1] for row in advisory_rows} == dict.fromkeys(ADVISORIES, "**new**")
    rows = table_after(md, "## Failed rules")
    assert rows[0][-1] == "Baseline"
    assert {row[0].strip("`"): row[-1] for row in rows[2:]}["RegisterUser.UserName.pattern"] == "accepted"
    assert {row[0].strip("`"): row[-1] for row in rows[2:]}["UpdateUser.lifecycle.missing-user-not-found"] == "**new**"
    # the same outcome read back from compliance.json's "baseline" member renders the same
    doc["baseline"] = outcome.as_dict()
    assert render_markdown(doc) == md


def test_without_baseline_no_baseline_section(md):
    assert "## Baseline" not in md
    assert md.index("**4 rules failed: the run fails.**") < md.index("## Score")  # the verdict first


def test_new_advisories_alone_pass_the_baseline_unless_strict(doc):
    baseline = Baseline("moto", None, tuple(Accepted(rule_id) for rule_id in FAILED))
    md = render_markdown(doc, compare(doc, baseline))
    assert ("**No new failures: the run passes the baseline. 2 new advisories listed: "
            "they fail a run only under --strict.**") in md
    md = render_markdown(doc, compare(doc, baseline, strict=True))
    assert "**No new failures, but 2 new advisories: the run fails (--strict).**" in md


@pytest.mark.parametrize("passed, advisory, failed, shown", [
    (2, 0, 1, "66.7 %"), (1999, 0, 1, "99.9 %"), (1, 0, 1999, "0.1 %"), (3, 0, 0, "100 %"), (0, 0, 3, "0 %"),
    (0, 0, 0, "n/a"), (1, 1, 2, "50 %"), (0, 3, 0, "100 %"), (0, 1999, 1, "99.9 %"), (0, 1, 1999, "0.1 %")])
def test_percent_never_rounds_to_a_false_100_or_0(passed, advisory, failed, shown):
    assert common.percent({"passed": passed, "advisory": advisory, "failed": failed, "skipped": 5}) == shown


def test_a_server_log_is_folded_in_its_evidence_its_middle_left_out(md):
    """The log of a server the run started: after the score, inside the failure's evidence, folded, its first
    and last lines kept (a traceback ends with the exception), hostile text inside a fence."""
    from qsconform.conformance.reporting.render.markdown import SERVER_LOG_LINES

    evidence = md.split("### Evidence")[1].split("## Advisories")[0]
    assert md.index("Server log (64 lines)") > md.index("## Score")
    assert evidence.count("Server log (") == 1
    _, blocks = split_fences(md)
    [log] = [b for b in blocks if "Error on request" in b]
    lines = log.splitlines()
    assert "lines left out (all in compliance.json)" in log and len(lines) <= SERVER_LOG_LINES + 2
    assert lines[0].startswith("INFO werkzeug: 127.0.0.1")
    assert "json.decoder.JSONDecodeError: <script>" in log and lines[-1].endswith("back\\|slash")  # the last line kept
