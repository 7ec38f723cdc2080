"""Ctrl-C anywhere: every command that draws, compiles schemas, sends or cleans up (run, probe, compare, sweep),
interrupted at each of those points, exits 130 without a traceback and leaves nothing on its target.

Each point is reached by an event in the code: the command runs under tests/interrupting.py, which sends the
process SIGINT from inside the work it names (a keyword of a schema being compiled, a request being drawn, an
answer arriving, a delete of the cleanup), never after a delay. The targets are reference servers on loopback
started here, so that what is left on them is read.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qsconform.conformance.reference import start_reference
from qsconform.conformance.reference.store import User

pytestmark = pytest.mark.e2e
ACCOUNT = "123456789012"
HELPER = Path(__file__).with_name("interrupting.py")


@pytest.fixture
def servers():
    with start_reference() as one, start_reference() as other:
        yield one, other


def interrupted(point: str, *args: str, mark: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(HELPER), point, str(mark), "--", *args], capture_output=True,
                          text=True, timeout=600)
    output = done.stdout + done.stderr
    reached = mark.read_text() if mark.exists() else ""
    assert reached == f"interrupting at {point.partition('@')[0]}\n", output[-3000:]  # the point was reached, once
    assert done.returncode == 130, output[-3000:]
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]
    assert "Exception ignored" not in output, output[-3000:]
    return done


def registered_then_gone(server) -> None:
    """The command registered users on the server (so the point came while it held some) and none is left."""
    assert server.store.names(ACCOUNT) == []


@pytest.mark.parametrize("point", ["compile", "draw", "send", "cleanup"])
def test_run(servers, tmp_path, point):
    server = servers[0]
    added = []
    add = server.store.add
    server.store.add = lambda user: (added.append(user.user_name), add(user))[1]
    interrupted(point, "run", "--target", server.url, "--profile", "quick", "--concurrency", "1",
                "--report-dir", str(tmp_path), "--", "-k", "UserName or lifecycle", mark=tmp_path / "mark")
    assert added, "the run registered nobody before it was interrupted"
    registered_then_gone(server)
    document = json.loads((tmp_path / "compliance.json").read_text())
    assert document["interrupted"] is True and document["target"]["users_left_behind"] == []
    for report in ("compliance.md", "compliance.html"):
        assert "Interrupted: " in (tmp_path / report).read_text() and "rules judged" in (tmp_path / report).read_text()
    assert 'type="interrupted"' in (tmp_path / "junit.xml").read_text()


@pytest.mark.parametrize("point", ["compile", "draw", "send", "cleanup"])
def test_probe(servers, tmp_path, point):
    server = servers[0]
    interrupted(point, "probe", "--target", server.url, "--record", str(tmp_path / "cassette.json"),
                mark=tmp_path / "mark")
    registered_then_gone(server)


@pytest.mark.parametrize("point", ["compile@first", "draw@first", "send", "cleanup"])
def test_compare(servers, tmp_path, point):
    target, reference = servers
    interrupted(point, "compare", "--target", target.url, "--reference", reference.url, "--per-rule", "1",
                "--seed", "3", mark=tmp_path / "mark")
    registered_then_gone(target)
    registered_then_gone(reference)


@pytest.mark.parametrize("point", ["list@first", "cleanup@first"])
def test_sweep(servers, tmp_path, point):
    server = servers[0]
    prefix = "qsc-0badc0de-"
    for i in range(5):
        name = f"{prefix}{i}"
        server.store.add(User(account=ACCOUNT, namespace="default", user_name=name, arn=f"arn:{name}",
                              email="x@example.com", role="READER", identity_type="QUICKSIGHT", principal_id=name))
    done = interrupted(point, "sweep", "--target", server.url, "--prefix", prefix, mark=tmp_path / "mark")
    assert "the same command deletes the rest" in done.stderr
    again = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "sweep", "--target", server.url,
                            "--prefix", prefix], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    registered_then_gone(server)
