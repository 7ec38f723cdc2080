"""The command a report gives to reproduce a failure reruns that one rule, against that target, with the options
that shaped the run, that profile and seed, and the rule fails again: as written, through the command line
(tests/test_rerun.py does so in-process for every fault)."""
import json
import shlex
import subprocess
import sys

import pytest

from qsconform.conformance.reference import FAULTS
from qsconform.spec.loader import default_spec

pytestmark = pytest.mark.e2e

LEVELS = {r.id: r.level for r in default_spec().rules}


def qsconform(args, report_dir):
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", args[0], "--report-dir", str(report_dir),
                           *args[1:]], capture_output=True, text=True, timeout=300)
    return done, json.loads((report_dir / "compliance.json").read_text())


def test_the_reproduce_command_fails_the_same_rule_again(tmp_path):
    fault = next(f for f in FAULTS.values() if any(s == "failed" for s in f.expected(LEVELS).values())
                 and any(LEVELS[r] == "MUST" and ".protocol." not in r for r in f.breaks))
    rule_id = next(r for r, s in fault.expected(LEVELS).items() if s == "failed")
    done, report = qsconform(["run", "--target", "reference", "--profile", "quick", "--seed", "11",
                              "--fault", fault.name, "--rule", rule_id], tmp_path / "first")
    assert done.returncode == 1, done.stdout[-2000:]
    markdown = (tmp_path / "first" / "compliance.md").read_text()
    command = next(line for line in markdown.splitlines() if line.startswith("qsconform run ") and rule_id in line)
    words = shlex.split(command)
    assert words[words.index("--seed") + 1] == "11" and words[-2:] == ["--rule", rule_id]
    assert words[words.index("--fault") + 1] == fault.name  # what shaped the run is in the command
    again, second = qsconform(words[1:], tmp_path / "again")
    assert again.returncode == 1, again.stdout[-2000:]
    judged = [r for r in second["rules"] if r["status"] not in ("deselected", "unsent")]
    assert [r["id"] for r in judged] == [rule_id] and judged[0]["status"] == "failed"
    first_rule = next(r for r in report["rules"] if r["id"] == rule_id)
    second_rule = next(r for r in second["rules"] if r["id"] == rule_id)
    assert second_rule["message"] == first_rule["message"]
