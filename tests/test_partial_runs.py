"""A partial run says so everywhere and never reports a pass: interrupted (Ctrl-C, SIGTERM: exit 130,
`interrupted: true`) or stopped early by the user's own -x or --maxfail (exit 1, `stopped_early: true`). Rules
never reached are `not-run`; the console, compliance.md, compliance.html and junit.xml say "interrupted: N of M
rules judged" (or "stopped early") where they would say pass or fail; nothing of pytest's or Hypothesis's comes
after the summary."""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from qsconform.conformance.judging.baseline import compare, load_baseline, write_baseline
from qsconform.conformance.judging.results import exit_code_of, merge_documents
from qsconform.conformance.reporting.console import summary_lines
from qsconform.conformance.reporting.render import render_html, render_junit, render_markdown
from qsconform.conformance.reporting.render.sample import sample_document

HELPER = Path(__file__).with_name("interrupting.py")


def partial(how: str) -> dict:
    """The sample document as a partial run left it: two rules never reached."""
    doc = sample_document()
    doc[how] = True
    passed = [r for r in doc["rules"] if r["status"] == "passed"]
    for rule in passed[:2]:
        rule["status"], rule["message"] = "not-run", "the run was interrupted before it was judged"
    return doc


def meant(doc) -> tuple[int, int]:
    rules = [r for r in doc["rules"] if r["status"] not in ("deselected", "unsent")]
    return sum(r["status"] != "not-run" for r in rules), len(rules)


@pytest.mark.parametrize("how, said, code", [("interrupted", "Interrupted", 130),
                                              ("stopped_early", "Stopped early (-x, --maxfail)", 1)])
def test_every_report_says_so(how, said, code):
    doc = partial(how)
    judged, of = meant(doc)
    text = f"{said}: {judged} of {of} rules judged"
    assert exit_code_of(doc) == code
    assert summary_lines(doc)[-1].startswith(f"{said.partition(' (')[0].upper()}: {judged} of {of} rules judged; ")
    markdown = render_markdown(doc)
    assert text in markdown.split("## Score")[0]  # before the score, which counts only what was judged
    assert "the run passes" not in markdown and "the run fails." not in markdown.replace(text, "")
    html = render_html(doc)
    assert text in html and 'class="verdict bad"' in html and "No rule failed: the run passes" not in html
    root = ET.fromstring(render_junit(doc).encode())
    (run,) = [case for case in root.iter("testcase") if case.get("classname") == "qsconform"]
    assert run.find("error").get("message") == text[0].lower() + text[1:]
    assert root.get("errors") == "1"
    not_run = [case for case in root.iter("testcase") if (case.find("skipped") is not None
                                                         and case.find("skipped").get("message", "").startswith("not-run"))]
    assert len(not_run) == 2


def test_a_complete_run_says_nothing_of_the_kind():
    doc = sample_document()
    import re

    assert not re.search(r"of \d+ rules judged", "\n".join(summary_lines(doc)) + render_markdown(doc) + render_html(doc))
    assert not [c for c in ET.fromstring(render_junit(doc).encode()).iter("testcase") if c.get("classname") == "qsconform"]


def test_merge_and_baselines_handle_not_run(tmp_path):
    judged = sample_document()
    interrupted = partial("interrupted")
    merged = merge_documents([interrupted, judged])  # a rule judged in one part is judged
    assert merged["interrupted"] and not merged["stopped_early"]
    assert {r["status"] for r in merged["rules"]} == {r["status"] for r in judged["rules"]}
    baseline = load_baseline(write_baseline(judged, tmp_path / "b.json"))
    outcome = compare(interrupted, baseline)
    not_run = [r["id"] for r in interrupted["rules"] if r["status"] == "not-run"]
    assert not set(not_run) & set(outcome.new_failures + outcome.fixed)
    assert exit_code_of({**interrupted, "baseline": outcome.as_dict()}) == 130


def last_words(output: str) -> str:
    return [line for line in output.splitlines() if line.strip()][-1]


def test_a_run_stopped_early_by_x_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference", "--fault",
         "duplicate-accepted", "--profile", "quick", "--seed", "3", "--report-dir", str(tmp_path),
         "--write-baseline", str(tmp_path / "baseline.json"), "--", "-x"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    document = json.loads((tmp_path / "compliance.json").read_text())
    assert document["stopped_early"] is True and document["interrupted"] is False
    assert document["summary"]["total"]["not-run"] > 0 and document["summary"]["total"]["failed"] >= 1
    judged, of = meant(document)
    said = f"Stopped early (-x, --maxfail): {judged} of {of} rules judged"
    assert f"STOPPED EARLY: {judged} of {of} rules judged" in result.stdout and said in (tmp_path / "compliance.md").read_text()
    assert said in (tmp_path / "compliance.html").read_text()
    assert 'type="stopped-early"' in (tmp_path / "junit.xml").read_text()
    assert not (tmp_path / "baseline.json").exists()  # a baseline of part of the rules would accept nothing else
    assert "not written" in result.stdout
    assert last_words(result.stdout + result.stderr).startswith("STOPPED EARLY")  # nothing of pytest's after it


def test_an_interrupted_run_against_moto_ends_with_its_summary(tmp_path):
    mark = tmp_path / "mark"
    result = subprocess.run(
        [sys.executable, str(HELPER), "send", str(mark), "--", "run", "--target", "moto", "--profile", "quick",
         "--report-dir", str(tmp_path), "--", "-k", "response or lifecycle"], capture_output=True, text=True,
        timeout=600)
    output = result.stdout + result.stderr
    assert mark.read_text() == "interrupting at send\n" and result.returncode == 130, output[-3000:]
    assert last_words(output).startswith("INTERRUPTED: "), output[-3000:]
    for noise in ("KeyboardInterrupt", "Traceback", "Falsifying", "Failing explicit example", "!!!!"):
        assert noise not in output, (noise, output[-3000:])
    document = json.loads((tmp_path / "compliance.json").read_text())
    judged, of = meant(document)
    assert document["interrupted"] and f"INTERRUPTED: {judged} of {of} rules judged" in result.stdout
    assert judged < of
