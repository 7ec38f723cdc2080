"""write_all and `python -m qsconform.conformance.reporting.render`: the report files, next to compliance.json."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from qsconform.conformance.judging.baseline import compare, load_baseline, write_baseline
from qsconform.conformance.reporting.render import write_all
from qsconform.conformance.reporting.render.sample import sample_document


def test_write_all_writes_the_reports(tmp_path):
    doc = sample_document()
    written = write_all(doc, tmp_path / "reports" / "ci")
    assert [p.name for p in written] == ["compliance.md", "compliance.html", "junit.xml", "repro.sh"]
    assert all(p.parent == tmp_path / "reports" / "ci" for p in written)
    md, page, junit, script = (p.read_text(encoding="utf-8") for p in written)
    assert script.startswith("#!/bin/sh\n")
    assert md.startswith("# qsconform compliance: moto") and "## Baseline" not in md
    assert page.startswith("<!DOCTYPE html>")
    assert ET.fromstring(junit.encode()).get("failures") == "4"
    assert sorted(p.name for p in (tmp_path / "reports" / "ci").iterdir()) == sorted(p.name for p in written)


def test_write_all_with_a_baseline_outcome(tmp_path):
    doc = sample_document()
    outcome = compare(doc, load_baseline(write_baseline(doc, tmp_path / "b.json")))
    md = write_all(doc, tmp_path, outcome)[0].read_text(encoding="utf-8")
    assert "**No new failures: the run passes the baseline.**" in md


def test_a_document_written_before_advisories_is_rendered_again(tmp_path):
    """compliance.json from an earlier version: not-run for both unsent and deselected, no "strict", no example
    "level". Every report still renders, not-run shown as a status of its own."""
    doc = sample_document()
    del doc["strict"]
    for rule in doc["rules"]:
        if rule["status"] in ("advisory", "unsent", "deselected"):
            rule["status"] = "not-run"
        if rule["example"]:
            del rule["example"]["level"]
    del doc["summary"]  # tallied again from the rules
    (tmp_path / "compliance.json").write_text(json.dumps(doc), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "qsconform.conformance.reporting.render", str(tmp_path)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    md = (tmp_path / "compliance.md").read_text(encoding="utf-8")
    assert "| not-run |" in md and "<details><summary>not-run (4)</summary>" in md
    assert "not-run (4)" in (tmp_path / "compliance.html").read_text(encoding="utf-8")
    junit = ET.fromstring((tmp_path / "junit.xml").read_bytes())
    assert (junit.get("tests"), junit.get("failures"), junit.get("skipped")) == ("17", "4", "7")


def test_module_renders_a_compliance_json_again(tmp_path):
    doc = sample_document()
    (tmp_path / "compliance.json").write_text(json.dumps(doc), encoding="utf-8")
    baseline = write_baseline(doc, tmp_path / "b.json")
    doc["rules"][1]["status"] = "failed"  # RegisterUser.UserName.max_length: a new failure
    (tmp_path / "compliance.json").write_text(json.dumps(doc), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "qsconform.conformance.reporting.render", str(tmp_path), "--baseline", str(baseline)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert run.stdout.split() == [str(tmp_path / n) for n in ("compliance.md", "compliance.html", "junit.xml",
                                                              "repro.sh")]
    assert "RegisterUser.UserName.max_length" in (tmp_path / "compliance.md").read_text(encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "qsconform.conformance.reporting.render", str(tmp_path), "--baseline",
                          str(tmp_path / "absent.json")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip() == f"baseline {tmp_path / 'absent.json'}: no such file " \
                                                          "(write one with --write-baseline)"
