"""The whole live path, end to end, through the SDK's endpoint configuration.

`qsconform run --target aws --live` with AWS_ENDPOINT_URL_QUICKSIGHT pointing at a reference server
on loopback: the endpoint is resolved as botocore resolves it, the target counts as a real account
(the live rules apply), and everything a live run promises is checked on the server's own ledger of
what was registered, updated and deleted.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qsconform.conformance.reference import start_reference
from qsconform.conformance.reference.store import User

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
CANARY_KEY = "AKIAQSCLIVECANARY001"
CANARY_SECRET = "qsconform/live+canary/secret0123456789"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/QsconformLiveRole"
PRE_EXISTING = "alice-was-here-before"


@pytest.fixture
def server():
    """A reference server whose store keeps a ledger of every change, with one user that predates the runs."""
    with start_reference() as ref:
        store, ledger = ref.store, []
        for method in ("add", "replace", "delete"):
            original = getattr(store, method)

            def record(*args, _original=original, _method=method):
                name = args[0].user_name if _method in ("add", "replace") else args[2]
                result = _original(*args)  # a change refused (a duplicate registration: 409) is no change
                ledger.append((_method, name))
                return result
            setattr(store, method, record)
        store.add(User(account=ACCOUNT, namespace="default", user_name=PRE_EXISTING,
                       arn=f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/{PRE_EXISTING}",
                       email="alice@example.com", role="READER", identity_type="QUICKSIGHT",
                       principal_id="federated/quicksight/alice"))
        ledger.clear()
        ref.ledger = ledger
        yield ref


@pytest.fixture
def env(server, tmp_path):
    """The environment of someone whose SDK configuration points QuickSight at the server."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    (tmp_path / "aws-config").write_text("")
    return {**clean, "AWS_ENDPOINT_URL_QUICKSIGHT": server.url, "AWS_ACCESS_KEY_ID": CANARY_KEY,
            "AWS_SECRET_ACCESS_KEY": CANARY_SECRET, "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-config"), "AWS_EC2_METADATA_DISABLED": "true"}


def qsconform(env, *args, **popen):
    command = [sys.executable, "-m", "qsconform.conformance.tools.cli", *args]
    if popen:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def live_run(*extra):
    return ("run", "--target", "aws", "--live", "--region", "us-east-1", "--account-id", ACCOUNT, *extra)


def assert_no_credential(report_dir: Path, *outputs: str):
    for path in report_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert CANARY_KEY not in text and CANARY_SECRET not in text, path
    for output in outputs:
        assert CANARY_KEY not in output and CANARY_SECRET not in output


def interrupted_once_users_exist(server, proc) -> str:
    """Ctrl-C to a qsconform process as soon as it holds a user of its own; its output, once it exited 130."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(server.store.names(ACCOUNT)) < 2:  # PRE_EXISTING and one of its own
        time.sleep(0.02)
    assert len(server.store.names(ACCOUNT)) >= 2, "the process created no user to clean up"
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output[-3000:]
    return output


def own_names(ledger, prefix):
    """Every name the run registered must be its own: under its prefix, or a session of the configured role."""
    registered = [name for method, name in ledger if method == "add"]
    strangers = [n for n in registered if not (n.startswith(prefix) or n.startswith("QsconformLiveRole/" + prefix))]
    assert strangers == [], strangers
    return registered


def test_a_live_run_through_the_endpoint_setting_keeps_every_promise(server, env, tmp_path):
    result = qsconform(env, *live_run("--profile", "quick", "--seed", "3", "--max-users", "6",
                                      "--iam-arn", ROLE_ARN, "--report-dir", str(tmp_path / "report")))
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1), output[-3000:]
    report = json.loads((tmp_path / "report" / "compliance.json").read_text())
    target = report["target"]
    assert (target["endpoint"], target["live"]) == (server.url, True)
    assert target["endpoint_source"] == "environment variable AWS_ENDPOINT_URL_QUICKSIGHT"
    assert f"from environment variable AWS_ENDPOINT_URL_QUICKSIGHT" in result.stdout

    registered = own_names(server.ledger, target["user_prefix"])
    assert 0 < len(registered) <= 6, registered  # --max-users
    assert any(n.startswith("QsconformLiveRole/") for n in registered)  # the configured role was used
    assert PRE_EXISTING not in {name for _, name in server.ledger}  # never updated nor deleted
    assert server.store.names(ACCOUNT) == [PRE_EXISTING]  # everything the run created is gone
    assert target["users_left_behind"] == []
    skipped = [r for r in report["rules"] if r["status"] == "skipped"]
    assert any("--max-users 6 leaves no registration" in r["message"] for r in skipped)  # the plan's (budget.py)
    assert report["cost"]["users_registered"] == len(registered)  # what the run says is what the server did
    assert_no_credential(tmp_path / "report", result.stdout, result.stderr)


def test_an_interrupted_live_run_deletes_what_it_created(server, env, tmp_path):
    proc = qsconform(env, *live_run("--profile", "thorough", "--report-dir", str(tmp_path / "report"),
                                    "--", "-k", "response.echo or lifecycle"), popen=True)
    output = interrupted_once_users_exist(server, proc)
    report = json.loads((tmp_path / "report" / "compliance.json").read_text())
    own_names(server.ledger, report["target"]["user_prefix"])
    assert server.store.names(ACCOUNT) == [PRE_EXISTING], output[-3000:]
    assert PRE_EXISTING not in {name for _, name in server.ledger}
    assert_no_credential(tmp_path / "report", output)


def test_sweep_through_the_endpoint_setting_removes_only_leftovers(server, env):
    prefix = "qsc-0badc0de-"
    for name in (f"{prefix}a", f"{prefix}b", "qsc-0badc0df-other-run"):
        server.store.add(User(account=ACCOUNT, namespace="default", user_name=name, arn=f"arn:{name}",
                              email="x@example.com", role="READER", identity_type="QUICKSIGHT", principal_id=name))
    refused = qsconform(env, "sweep", "--target", "aws", "--region", "us-east-1", "--account-id", ACCOUNT,
                        "--prefix", prefix)
    assert refused.returncode == 2 and "--live" in refused.stderr
    assert len(server.store.names(ACCOUNT)) == 4
    result = qsconform(env, "sweep", "--target", "aws", "--live", "--region", "us-east-1", "--account-id", ACCOUNT,
                       "--prefix", prefix)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(server.store.names(ACCOUNT)) == sorted([PRE_EXISTING, "qsc-0badc0df-other-run"])
    assert "deleted 2 user(s)" in result.stdout
    assert CANARY_KEY not in result.stdout + result.stderr and CANARY_SECRET not in result.stdout + result.stderr
