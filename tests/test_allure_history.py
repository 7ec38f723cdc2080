"""Allure as its users use it: two runs with different seeds, rendered by the Allure 3 report generator (the
npm package `allure`, pinned in .ci/run) into one history, connect rule by rule: the seed is shown but left out
of each test's history id, so the second report knows every test of the first and shows its earlier result. An
advisory passes, tagged "advisory" (reported, not failing: allure_labels.py says why), and the console's
Reports: line names the Allure directory."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

ALLURE_MAJOR = "3"
FAILED, ADVISORY = "RegisterUser.lifecycle.duplicate-refused", "UpdateUser.response.echo"


def allure() -> str:
    """The Allure 3 command line (.ci/run installs it: npm install -g allure@<pinned>)."""
    found = shutil.which("allure")
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout.strip() if found else ""
    if not version.startswith(f"{ALLURE_MAJOR}."):
        message = f"Allure {ALLURE_MAJOR} not installed (found {version or 'none'}): npm install -g allure@3"
        if os.environ.get("QSC_REQUIRE_TOOLS"):  # .ci/run: a skipped test proves nothing
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(tmp_path, seed: int):
    results = tmp_path / f"allure-{seed}"
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference",
                           "--fault", "duplicate-accepted", "--reference-option", "update_answers_previous_user=true",
                           "--profile", "quick", "--examples", "0", "--seed", str(seed), "--rule", FAILED,
                           "--rule", ADVISORY, "--report-dir", str(tmp_path / f"report-{seed}"),
                           "--alluredir", str(results)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    return results, done.stdout


def generate(tmp_path, results, history, name: str) -> dict:
    """The Allure report of `results`, with `history` carried over; its test results by test name."""
    out = tmp_path / name
    done = subprocess.run([allure(), "awesome", str(results), "--history-path", str(history), "-o", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    tests = [json.loads(p.read_text()) for p in (out / "data" / "test-results").glob("*.json")]
    return {"summary": json.loads((out / "summary.json").read_text()), "tests": {t["name"]: t for t in tests}}


def test_two_runs_with_different_seeds_share_one_history(tmp_path):
    allure()
    first, _ = run(tmp_path, 11)
    second, console = run(tmp_path, 12)
    reports = " ".join(console[console.index("Reports:"):].split())  # the Reports: line, however it wrapped
    assert f"Allure results: {second} " in reports

    history = tmp_path / "history.jsonl"
    before = generate(tmp_path, first, history, "report-1")
    after = generate(tmp_path, second, history, "report-2")
    entries = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(entries) == 2
    assert set(entries[0]["testResults"]) == set(entries[1]["testResults"])  # every rule: one history id
    assert after["summary"]["newTests"] == []  # the second report knows every test of the first

    failed = after["tests"][FAILED]
    assert failed["status"] == "failed" and failed["historyId"] == before["tests"][FAILED]["historyId"]
    assert [h["status"] for h in failed["history"]] == ["failed"]  # the first run's result, seed 11
    seed = next(p for p in failed["parameters"] if p["name"] == "seed")
    assert seed["value"] == "12" and seed["excluded"] is True  # shown, left out of the history id

    advisory = after["tests"][ADVISORY]
    assert advisory["status"] == "passed"  # reported, not failing: the run passes on it
    labels = {(label["name"], label["value"]) for label in advisory["labels"]}
    assert ("tag", "advisory") in labels and ("verdict", "advisory") in labels
    assert [h["status"] for h in advisory["history"]] == ["passed"]
    deselected = next(t for name, t in after["tests"].items() if name not in (FAILED, ADVISORY))
    assert deselected["status"] == "skipped" and len(deselected["history"]) == 1  # the rules not run connect too
