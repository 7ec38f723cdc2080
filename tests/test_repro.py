"""A failure's stand-alone reproduction: the steps its evidence carries (setup, the requests a lifecycle program
sent before, the judged request, cleanup), sent to a freshly started target with the same fault, show the same
deviation: through `qsconform repro`, through repro.sh (curl), and against a target started with the command
the report gives. A faithful target does not show it."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from qsconform.conformance.reference import start_reference
from qsconform.conformance.reporting.render import common
from qsconform.conformance.reporting.render.script import render_script
from qsconform.conformance.reporting.report import write_reports
from qsconform.conformance.tools import exits
from qsconform.conformance.tools.cli import main
from in_process import run_command

pytestmark = pytest.mark.e2e

# (fault, rule): each kind of reproduction. A lifecycle program step by step (a duplicate; an update and the
# DescribeUser after it; a deletion then an update), a response rule of an update (its user registered first), an
# input rule, and a body that is not JSON.
CASES = [("duplicate-accepted", "RegisterUser.lifecycle.duplicate-refused", "0"),
         ("update-not-persisted", "UpdateUser.lifecycle.update-persists", None),  # only random programs catch it
         ("not-found-as-400", "UpdateUser.lifecycle.deleted-user-not-found", "0"),
         ("arn-wrong-region", "UpdateUser.response.arn", "0"),
         ("register-role-enum-unchecked", "RegisterUser.UserRole.enum", "0"),
         ("malformed-json-500", "RegisterUser.protocol.body-not-json", "0")]


def report_of(fault: str, rule_id: str, examples: str, directory) -> dict:
    examples = "" if examples is None else f" --examples {examples}"
    doc = run_command(f"qsconform run --target reference --fault {fault} --profile quick --seed 5{examples} "
                      f"--rule {shlex.quote(rule_id)}")
    write_reports(doc, directory)
    return doc


def entry(doc: dict, rule_id: str) -> dict:
    return next(r for r in doc["rules"] if r["id"] == rule_id)


@pytest.fixture
def fresh():
    """Start reference servers on free ports; stop them all at the end."""
    servers = []

    def start(*faults):
        server = start_reference(host="127.0.0.1", port=0, faults=faults)
        servers.append(server)
        return str(server.url).rstrip("/")

    yield start
    for server in servers:
        server.stop()


def repro(capsys, *args) -> tuple[int, str]:
    code = main(["repro", *args])
    out, err = capsys.readouterr()
    assert err == "", err
    return code, out


@pytest.mark.parametrize("fault, rule_id, examples", CASES, ids=[c[1] for c in CASES])
def test_the_reproduction_shows_the_same_deviation_on_a_fresh_target(tmp_path, capsys, fresh, fault, rule_id,
                                                                     examples):
    doc = report_of(fault, rule_id, examples, tmp_path)
    rule = entry(doc, rule_id)
    assert rule["status"] in ("failed", "advisory"), rule
    steps = rule["example"]["steps"]
    roles = "".join(s["role"][0] for s in steps)  # setup, step, judged, cleanup
    assert re.fullmatch(r"[ss]*jc*", roles), roles
    if ".lifecycle." in rule_id:  # step by step: the program's requests before the judged one
        assert any(s["role"] == "step" and s["operation"] == "RegisterUser" for s in steps)
    if rule_id.startswith("UpdateUser.response."):  # the user the update names, registered first
        assert steps[0]["role"] == "setup" and steps[0]["operation"] == "RegisterUser"

    code, out = repro(capsys, rule_id, "--report", str(tmp_path), "--target", fresh(fault))
    assert code == exits.FAILED, out
    assert out.splitlines()[-1].startswith(f"reproduced: {rule_id} ") and "(the same deviation as the report)" in out

    code, out = repro(capsys, rule_id, "--report", str(tmp_path), "--target", fresh())  # a faithful target
    assert code == exits.OK and out.splitlines()[-1].startswith("not reproduced: "), out


def test_repro_starts_a_fresh_target_of_the_report_with_its_fault(tmp_path, capsys):
    report_of("duplicate-accepted", "RegisterUser.lifecycle.duplicate-refused", "0", tmp_path)
    code, out = repro(capsys, "RegisterUser.lifecycle.duplicate-refused", "--report", str(tmp_path))
    assert code == exits.FAILED and "against target reference (http://127.0.0.1:" in out, out


def curl_supports_sigv4() -> bool:
    curl = shutil.which("curl")
    if curl is None:
        return False
    version = re.search(r"curl (\d+)\.(\d+)", subprocess.run([curl, "--version"], capture_output=True,
                                                             text=True).stdout)
    return version is not None and (int(version.group(1)), int(version.group(2))) >= (7, 75)


@pytest.mark.parametrize("fault, rule_id, examples", [CASES[0], CASES[3]], ids=["lifecycle", "update"])
def test_repro_sh_sends_the_whole_sequence_with_curl(tmp_path, fresh, fault, rule_id, examples):
    assert curl_supports_sigv4(), "curl 7.75 or newer is needed (.ci/run installs it)"
    doc = report_of(fault, rule_id, examples, tmp_path)
    steps = entry(doc, rule_id)["example"]["steps"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(["sh", str(tmp_path / "repro.sh"), rule_id], capture_output=True, text=True, timeout=60,
                          env={**env, "QSC_TARGET": fresh(fault)})
    assert done.returncode == 0, done.stderr
    statuses = re.findall(r"^HTTP/1\.[01] (\d+)", done.stdout, re.M)
    assert len(statuses) == len(steps)  # every step sent, cleanup included
    for step, status in zip(steps, statuses):
        if step.get("answered"):
            assert step["answered"].split()[0] == status, (step, done.stdout)
    assert statuses[-1] in ("200", "204")  # the cleanup deleted what the setup registered

    unset = subprocess.run(["sh", str(tmp_path / "repro.sh"), rule_id], capture_output=True, text=True, env=env)
    assert unset.returncode != 0 and "QSC_TARGET" in unset.stderr  # the target is a placeholder, set once
    listed = subprocess.run(["sh", str(tmp_path / "repro.sh")], capture_output=True, text=True, env=env)
    assert listed.returncode == 2 and rule_id in listed.stderr


def test_the_report_says_how_to_start_the_same_target_and_it_reproduces_there(tmp_path, capsys):
    doc = report_of("arn-wrong-region", "UpdateUser.response.arn", "0", tmp_path)
    start = common.start_command(doc)
    assert start in (tmp_path / "repro.sh").read_text() and start in (tmp_path / "compliance.md").read_text()
    words = shlex.split(start)
    assert words[:3] == ["python3", "-m", "qsconform.conformance.reference"] and "--fault" in words
    words[0], words[words.index("--port") + 1] = sys.executable, "0"  # any free port, for the test
    process = subprocess.Popen(words, stdout=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline()).group(0)
        code, out = repro(capsys, "UpdateUser.response.arn", "--report", str(tmp_path), "--target", url)
        assert code == exits.FAILED and "(the same deviation as the report)" in out, out
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_moto_is_started_on_a_fixed_port_by_its_own_command():
    doc = {"target": {"name": "moto", "endpoint": "http://127.0.0.1:38123"}}
    assert common.start_command(doc).startswith("moto_server -H 127.0.0.1 -p 5000")
    assert common.repro_target(doc) == "http://127.0.0.1:5000"
    url = {"target": {"name": "http://127.0.0.1:4566", "endpoint": "http://127.0.0.1:4566"}}
    assert common.start_command(url) is None and common.repro_target(url) == "http://127.0.0.1:4566"


def test_repro_errors_are_one_line(tmp_path, capsys):
    report_of("duplicate-accepted", "RegisterUser.lifecycle.duplicate-refused", "0", tmp_path)
    for args, words in ((["RegisterUser.nope"], "no rule 'RegisterUser.nope'"),
                        (["UpdateUser.Role.enum"], "deselected in that report: it has no deviation to reproduce")):
        assert main(["repro", *args, "--report", str(tmp_path)]) == exits.USAGE
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and words in err, err


def test_the_script_quotes_whatever_a_target_answered(tmp_path):
    """A rule id, a path and a body from a document are words of the script, never code: sh reads it, and a
    hostile body sent through it arrives byte for byte."""
    hostile = "'; touch pwned; echo '$(id)`id`\\"
    doc = {"target": {"name": "http://127.0.0.1:1", "endpoint": "http://127.0.0.1:1", "region": "us-east-1"},
           "seed": 1, "rules": [{"id": f"RegisterUser.x{hostile}", "operation": "RegisterUser", "status": "failed",
                                 "level": "MUST", "message": hostile, "example": {"steps": [
                                     {"role": "judged", "operation": "RegisterUser", "method": "POST",
                                      "path": f"/a/{hostile}", "body": hostile, "why": hostile},
                                     {"role": "judged", "operation": "RegisterUser", "method": "POST",
                                      "path": "/b", "body_base64": "AAEC", "why": "binary"}]}}]}
    script = tmp_path / "repro.sh"
    script.write_text(render_script(doc))
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "curl").write_text('#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done; echo; cat\n')
    (fake / "curl").chmod(0o755)
    done = subprocess.run(["sh", str(script), f"RegisterUser.x{hostile}"], capture_output=True, text=True,
                          cwd=tmp_path, env={"PATH": f"{fake}:{os.environ['PATH']}", "QSC_TARGET": "http://t"})
    assert done.returncode == 0, done.stderr
    assert f"[http://t/a/{hostile}]" in done.stdout and f"[{hostile}]" in done.stdout
    assert not (tmp_path / "pwned").exists()
    assert json.dumps(hostile) and "[@-]" in done.stdout  # the binary body through stdin
