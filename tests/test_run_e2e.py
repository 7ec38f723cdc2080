"""End to end: `qsconform` in a subprocess against moto's real server on loopback; what is decided before a run starts
(usage errors, a malformed spec, a target that needs --live or does not answer) in-process, where the process
boundary proves nothing more."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from moto.server import ThreadedMotoServer

from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec

pytestmark = pytest.mark.e2e

# Gaps of moto 5's QuickSight that the suite must report, each as a failed rule.
MOTO_GAPS = {
    "RegisterUser.lifecycle.duplicate-refused": "duplicate register accepted",
    "UpdateUser.lifecycle.missing-user-not-found": "not-found answered with 400",
    "RegisterUser.UserRole.enum": "invalid enum accepted",
    "RegisterUser.AwsAccountId.min_length": "11-digit account id accepted",
    "RegisterUser.Email.required": "missing required member accepted",
    "RegisterUser.response.content-type": "text/html content type",
    "RegisterUser.response.request-id-body": "no RequestId in the body",
    "RegisterUser.response.invitation-url": "placeholder UserInvitationUrl",
}


def qsconform(*args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def in_process(capsys, *args):
    """The exit code and output of the command run in this process: for what is decided before a run starts
    (arguments, the spec), where the process boundary proves nothing more. An exception would fail the test."""
    from qsconform.conformance.tools.cli import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out + err


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_moto_gaps_are_reported_as_failed_rules(tmp_path):
    canary = "QSCONFORMCANARYSECRET0123456789"
    result = qsconform("run", "-v", "--target", "moto", "--profile", "quick", "--seed", "7", "--report-dir", str(tmp_path),
                       "--", "-k", " or ".join(MOTO_GAPS),
                       env={"AWS_ACCESS_KEY_ID": "AKIAQSCONFORMCANARY1", "AWS_SECRET_ACCESS_KEY": canary})
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    report = json.loads((tmp_path / "compliance.json").read_text())
    status = {r["id"]: r for r in report["rules"]}
    for rule_id, gap in MOTO_GAPS.items():
        assert status[rule_id]["status"] == "failed", (rule_id, gap, status[rule_id])
        example = status[rule_id]["example"]
        assert example["curl"].startswith("curl ") and example["seed"] == 7
        assert example["request"]["operation"] == status[rule_id]["operation"]
    assert report["seed"] == 7 and report["target"]["name"] == "moto"
    assert "RegisterUser.UserRole.enum" in result.stdout
    # -v: each failure is told by its evidence, not by a traceback through Hypothesis's engine.
    assert "reproduce: curl " in result.stdout and "hypothesis/core.py" not in result.stdout
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert canary not in text and "AKIAQSCONFORMCANARY1" not in text, path
    assert canary not in result.stdout + result.stderr


def test_a_non_loopback_target_needs_live(capsys):
    started = time.monotonic()
    code, output = in_process(capsys, "run", "--target", "https://quicksight.us-east-1.amazonaws.com")
    assert code == 2
    assert "--live" in output
    assert "Traceback" not in output
    assert time.monotonic() - started < 60


def test_an_unreachable_target_exits_3_quickly(capsys):
    started = time.monotonic()
    code, output = in_process(capsys, "run", "--target", f"http://127.0.0.1:{free_port()}")
    assert code == 3, output[-3000:]
    assert "Traceback" not in output
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("args, said", [
    (["run", "--profile", "nope"], "invalid choice: 'nope'"),
    (["run", "--seed", "abc"], "invalid int value: 'abc'"),
    (["run", "--max-users", "many"], "--max-users"),
    (["run", "--max-users", "-1"], "takes a whole number of 0 or more, got '-1'"),
    (["run", "--examples", "-1"], "takes a whole number of 0 or more, got '-1'"),
    (["run", "--concurrency", "0"], "--concurrency"),
    (["run", "--shard", "3/2", "--", "-k", "Email.required"], "--shard takes i/N"),
    (["run", "--target", "reference", "--fault", "no-such-fault"], "unknown fault 'no-such-fault'; `python -m"),
    (["run", "--target", "reference", "--fault", "duplicate-acepted"], "(did you mean duplicate-accepted?)"),
    (["run", "--target", "reference", "--reference-option", "status_in_bdy=true"], "(did you mean status_in_body?)"),
    (["run", "--target", "reference", "--reference-option", "status_in_body=yes"], "must be true or false, not 'yes'"),
    (["run", "--target", "reference", "--reference-option", "status_in_body"], "takes NAME=VALUE"),
    (["run", "--fault", "duplicate-accepted"], "--fault applies to --target reference only, not 'moto'"),
    (["probe", "--target", "moto", "--reference-option", "x=1", "--record", "c.json"], "applies to --target reference"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_usage_is_one_line_exit_2_without_a_traceback(args, said, capsys):
    code, output = in_process(capsys, *args)
    assert code == 2, (args, output[-2000:])
    assert output.count("\n") == 1 and output.startswith("qsconform: ") and said in output, output
    assert "usage:" not in output and "Traceback" not in output and "_pytest" not in output


def test_examples_0_is_a_count():
    from qsconform.conformance.tools.cli import build_parser

    assert build_parser().parse_args(["run", "--examples", "0"]).examples == 0


def test_a_malformed_spec_exits_2_with_one_line(tmp_path, capsys):
    import shutil
    spec_dir = tmp_path / "spec"
    shutil.copytree(default_spec().directory, spec_dir)
    (spec_dir / "operations" / "RegisterUser.json").write_text('{"operation": "RegisterUser",')
    code, output = in_process(capsys, "run", "--spec-dir", str(spec_dir), "--profile", "quick")
    assert code == 2
    assert "RegisterUser.json" in output
    assert "Traceback" not in output


def test_no_rule_selected_is_a_usage_error():
    result = qsconform("run", "--profile", "quick", "--", "-k", "no_such_rule_anywhere")
    assert result.returncode == 2
    assert "no rule was selected" in result.stderr


def test_ctrl_c_a_library_turned_into_an_error_still_ends_the_run_as_interrupted(tmp_path):
    """jsonschema_rs reports a KeyboardInterrupt raised in one of its keyword callbacks as a ValidationError: a
    Ctrl-C while the run compiles its schemas ended it with every test in error and exit 1. Played here: the
    signal comes while the run's set-up is probing, and that step fails with another error."""
    script = f"""
import sys
from qsconform.conformance.engine import interrupt, session
from qsconform.conformance.tools import cli

def probing(self, *rules):  # RunSession.start(rules)
    interrupt._pending = True  # what the signal handler leaves, its KeyboardInterrupt turned into...
    raise ValueError("Failed to instantiate keyword class: KeyboardInterrupt")  # ...another library's error

session.RunSession.start = probing
sys.exit(cli.main(["run", "--target", "reference", "--profile", "quick", "--report-dir", {str(tmp_path)!r},
                   "--", "-k", "response.echo"]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 130, (done.stdout[-2000:], done.stderr[-2000:])


def test_an_interrupted_run_deletes_the_users_it_created(tmp_path):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{server._port}"
        # moto's state is the process's: another test this worker ran may have left users in it
        requests.post(f"{url}/moto-api/reset", timeout=5)
        with open_target(url) as target:
            transport = Transport(target, default_spec())
            list_users = lambda: transport.call("ListUsers", {"AwsAccountId": target.account_id,  # noqa: E731
                                                              "Namespace": "default"}).json_body["UserList"]
            assert list_users() == []
            # One rule at a time, so that the users held when Ctrl-C comes are the first, plain-named ones: moto
            # cannot address some names the boundary examples register (a '/' or punctuation in the name: its
            # DeleteUser answers a bare 404 page), which side by side a run may hold already. Interrupting rules
            # judged side by side is tested against the reference server (test_concurrency, test_live_path).
            proc = subprocess.Popen([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", url,
                                     "--profile", "thorough", "--concurrency", "1", "--report-dir", str(tmp_path),
                                     "--", "-k", "response.echo or new-user-inactive"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not list_users():
                time.sleep(0.2)
            assert list_users(), "the run created no user to clean up"
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=120)
            assert proc.returncode == 130, output[-3000:]
            report = json.loads((tmp_path / "compliance.json").read_text())
            prefix = report["target"]["user_prefix"]
            # moto keeps users registered with an IAM ARN under the name None, which no DeleteUser
            # can address; every user that has a name must be gone.
            assert [u["UserName"] for u in list_users() if u.get("UserName")] == [], output[-3000:]
            assert all(u["UserName"] is None for u in list_users())
            assert report["target"]["users_left_behind"] == [] and prefix.startswith("qsc-")
    finally:
        requests.post(f"http://127.0.0.1:{server._port}/moto-api/reset", timeout=5)  # moto's state is process-wide
        server.stop()
