"""compliance.md: right numbers, tables that stay tables whatever a target answers, evidence in code blocks."""
from __future__ import annotations

import re

import pytest

from conformance.baseline import Accepted, Baseline, compare
from conformance.render import common
from conformance.render.markdown import DETAILS_LIMIT, render_markdown
from conformance.render.sample import sample_document

FAILED = ["RegisterUser.IamArn.iam-requires-arn", "RegisterUser.UserName.pattern",
          "RegisterUser.response.content_type", "UpdateUser.lifecycle.missing-user-not-found"]


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
    assert rows[0] == ["Operation", "Score", "passed", "failed", "unsupported", "inconclusive", "skipped", "not-run"]
    assert rows[2] == ["RegisterUser", "57.1 %", "4", "3", "1", "1", "1", "1"]
    assert rows[3] == ["UpdateUser", "66.7 %", "2", "1", "0", "0", "0", "0"]
    assert rows[4] == ["**Total**", "**60 %**", "**6**", "**4**", "**1**", "**1**", "**1**", "**1**"]


def test_every_table_keeps_its_shape(md):
    outside, _ = split_fences(md)
    found = tables(outside)
    assert len(found) == 3  # score, failures, other statuses
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
    # the only raw HTML is ours: one <details> per failure and per non-empty other status, each closed
    assert text.count("<details>") == text.count("</details>") == len(FAILED) + 4


def test_details_hold_request_response_curl_and_seed(md):
    outside, blocks = split_fences(md)
    evidence = md.split("### Evidence")[1].split("## Other statuses")[0]
    assert evidence.count("<details>") == len(FAILED)
    for rule_id in FAILED:
        assert f"<summary><code>{rule_id}</code>" in evidence
    # three failures have an example: request, response, curl and reproduce blocks for each
    assert len(blocks) == 3 * 4
    response = next(b for b in blocks if "<script>alert(1)</script>" in b)
    assert response.startswith("HTTP 200")
    assert "``` fence" in response  # the body's backticks stayed inside a longer fence
    assert any('"UserName": "é|<x>"' in b for b in blocks)
    assert any(b.startswith("curl --include") for b in blocks)
    assert any("qsconform run --target moto --profile quick --seed 123" in b for b in blocks)
    assert "No example was recorded for this rule." in evidence  # content_type has none


def test_other_statuses_counted(md):
    rows = table_after(md, "## Other statuses")
    assert rows[2:] == [["unsupported", "1"], ["inconclusive", "1"], ["skipped", "1"], ["not-run", "1"]]
    assert "- `RegisterUser.lifecycle.duplicate-refused`: inconclusive: still throttled after retries" in md


def test_no_failure_says_so(doc):
    for rule in doc["rules"]:
        if rule["status"] == "failed":
            rule["status"], rule["example"] = "passed", None
    md = render_markdown(doc)
    assert "No rule failed." in md and "<details><summary><code>" not in md
    assert table_after(md, "## Score")[-1][1] == "**100 %**"


def test_many_failures_are_capped_for_the_step_summary(doc):
    template = next(r for r in doc["rules"] if r["id"] == "RegisterUser.UserName.pattern")
    for n in range(DETAILS_LIMIT + 10):
        doc["rules"].append(dict(template, id=f"RegisterUser.Extra{n:03}.pattern"))
    md = render_markdown(doc)
    assert md.count("<details><summary><code>") == DETAILS_LIMIT
    assert f"and {len(FAILED) + DETAILS_LIMIT + 10 - DETAILS_LIMIT} more failures" in md
    assert len(md.encode()) < 1024 * 1024


def test_baseline_sections(doc):
    baseline = Baseline("moto", "2026-11-01T00:00:00Z",
                        (Accepted("RegisterUser.UserName.pattern"), Accepted("RegisterUser.Email.required"),
                         Accepted("RegisterUser.Tags.min_items"), Accepted("RegisterUser.Gone.rule")))
    outcome = compare(doc, baseline)
    md = render_markdown(doc, outcome)
    assert "**3 new failures: the run fails.**" in md
    new = md.split("### New failures (3)")[1].split("###")[0]
    assert "`RegisterUser.IamArn.iam-requires-arn`" in new and "`RegisterUser.UserName.pattern`" not in new
    assert "### Fixed since the baseline (1)" in md and "- `RegisterUser.Email.required`" in md
    assert "### Unconfirmed (1)" in md and "- `RegisterUser.Tags.min_items` (skipped)" in md
    assert "### Missing from this run (1)" in md and "- `RegisterUser.Gone.rule`" in md
    assert "Still accepted failures (1)" in md
    rows = table_after(md, "## Failed rules")
    assert rows[0][-1] == "Baseline"
    assert {row[0].strip("`"): row[-1] for row in rows[2:]}["RegisterUser.UserName.pattern"] == "accepted"
    assert {row[0].strip("`"): row[-1] for row in rows[2:]}["UpdateUser.lifecycle.missing-user-not-found"] == "**new**"
    # the same outcome read back from compliance.json's "baseline" member renders the same
    doc["baseline"] = outcome.as_dict()
    assert render_markdown(doc) == md


def test_without_baseline_no_baseline_section(md):
    assert "## Baseline" not in md


@pytest.mark.parametrize("passed, failed, shown", [(2, 1, "66.7 %"), (1999, 1, "99.9 %"), (1, 1999, "0.1 %"),
                                                   (3, 0, "100 %"), (0, 3, "0 %"), (0, 0, "n/a")])
def test_percent_never_rounds_to_a_false_100_or_0(passed, failed, shown):
    assert common.percent({"passed": passed, "failed": failed, "skipped": 5}) == shown
