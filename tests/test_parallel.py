"""Parallel (-n) and sharded (--shard i/N) runs give the verdicts of a serial run."""
import json
import os
import re
import subprocess
import sys

import pytest

from qsconform.conformance.plugin import shard_of
from qsconform.spec.loader import default_spec

pytestmark = pytest.mark.e2e

RULES = ("RegisterUser.UserRole.enum or RegisterUser.Email.required or RegisterUser.response.echo or "
         "RegisterUser.response.content-type or UpdateUser.Role.enum or UpdateUser.response.success-status or "
         "UpdateUser.protocol.body-not-json or RegisterUser.lifecycle.duplicate-refused")


def run(report_dir, *extra):
    result = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--profile", "quick", "--seed", "11",
                             "--report-dir", str(report_dir), *extra, "--", "-q", "-k", RULES],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((report_dir / "compliance.json").read_text())


def verdicts(document):
    return {r["id"]: r["status"] for r in document["rules"]}


def test_parallel_and_sharded_runs_match_a_serial_run(tmp_path):
    serial = verdicts(run(tmp_path / "serial"))
    judged = {k for k, v in serial.items() if v != "deselected"}
    assert len(judged) >= 8  # the lifecycle machine also records the lifecycle rules it meets
    assert verdicts(run(tmp_path / "parallel", "-n", "2")) == serial

    one = run(tmp_path / "shard1", "--shard", "1/2")
    two = run(tmp_path / "shard2", "--shard", "2/2")
    judged_one = {k for k, v in verdicts(one).items() if v != "deselected"}
    judged_two = {k for k, v in verdicts(two).items() if v != "deselected"}
    assert judged_one and judged_two and judged_one | judged_two == judged
    merged = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "merge", str(tmp_path / "shard1"),
                             str(tmp_path / "shard2"), "--report-dir", str(tmp_path / "merged")],
                            capture_output=True, text=True, timeout=60)
    assert merged.returncode in (0, 1), merged.stderr
    assert verdicts(json.loads((tmp_path / "merged" / "compliance.json").read_text())) == serial


def test_shard_assignment_is_stable_and_covers_every_rule():
    ids = [r.id for r in default_spec().rules]
    for count in (2, 3, 5):
        shards = [shard_of(rule_id, count) for rule_id in ids]
        assert set(shards) == set(range(1, count + 1))
        assert shards == [shard_of(rule_id, count) for rule_id in ids]
    assert shard_of("RegisterUser.UserName.pattern", 4) == 1  # a change here reshuffles every CI matrix


def test_a_run_started_from_inside_a_worker_is_not_a_worker(tmp_path):
    # A test under `pytest -n` that runs `qsconform run` passes the worker's PYTEST_XDIST_* variables on to it;
    # the run must still name its users (and so draw its requests) as a serial run does, and its session must
    # not look like a worker's to other plugins (pytest-benchmark warned on stderr in CI).
    (tmp_path / "environment_probe.py").write_text(
        "import json, os\n"
        "def pytest_configure(config):\n"
        "    seen = {k: v for k, v in os.environ.items() if k.startswith('PYTEST_XDIST_')}\n"
        "    with open(os.environ['PROBE_OUT'], 'w') as out:\n"
        "        json.dump(seen, out)\n")
    seen_file = tmp_path / "seen.json"
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw7", "PYTEST_XDIST_WORKER_COUNT": "8", "PYTEST_XDIST_TESTRUNUID": "abc",
           "PYTEST_XDIST_AUTO_NUM_WORKERS": "3", "PROBE_OUT": str(seen_file),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference", "--profile",
                             "quick", "--report-dir", str(tmp_path / "reports"), "--", "-q", "-k", "RegisterUser.UserRole.enum",
                             "-p", "environment_probe"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    prefix = json.loads((tmp_path / "reports" / "compliance.json").read_text())["target"]["user_prefix"]
    assert re.fullmatch(r"qsc-[0-9a-f]{8}-", prefix), prefix
    assert json.loads(seen_file.read_text()) == {"PYTEST_XDIST_AUTO_NUM_WORKERS": "3"}  # the user's own setting stays


def test_without_xdist_minus_n_is_one_line_and_exit_2(monkeypatch, capsys):
    import importlib.util

    from qsconform.conformance.tools import cli, exits

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xdist" else real(name, *a))
    assert cli.main(["run", "-n", "2"]) == exits.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["qsconform: -n needs pytest-xdist, which is not installed: python3 -m pip install pytest-xdist"]


def test_merged_reports_add_up_throttling_and_retried_server_errors():
    from qsconform.conformance.judging.results import merge_documents

    def part(throttled, rate, retried):
        return {"versions": {"spec": "x"}, "rules": [], "target": {}, "seconds": 1.0,
                "throttling": {"throttled": throttled, "gave_up": 1, "rate": rate, "adaptive": True},
                "server_errors_retried": {"requests": retried, "first": [{"n": retried}] if retried else []}}

    merged = merge_documents([part(3, 12.5, 2), part(4, None, 0), part(1, 9.0, 5)])
    assert merged["throttling"] == {"throttled": 8, "gave_up": 3, "rate": 9.0, "adaptive": True}
    assert merged["server_errors_retried"] == {"requests": 7, "first": [{"n": 2}, {"n": 5}]}
