"""moto reached by URL: the run deletes every user moto lets it delete, verifies it by reading, and reports what moto
cannot delete as moto's, one readable line per kind of name, control characters escaped; `qsconform sweep` does the
same. (moto routes DeleteUser on the decoded path, so a name holding '/' answers a bare 404; it decodes the path twice,
so a name holding '%41' deletes another name; it keeps IAM identities under the name None; it accepts an empty name.)"""
import json
import re
import socket
import subprocess
import sys

import pytest
import requests
from moto.server import ThreadedMotoServer

from qsconform.conformance.engine.users import UNNAMED
from qsconform.spec.loader import default_spec

SPEC = default_spec()

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("moto-url")]
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MOTO_GAPS = re.compile(r"^(names holding '/'|names holding '%' and two hex digits|an empty name)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server._port}"
    requests.post(f"{url}/moto-api/reset", timeout=5)  # moto's state is the process's
    yield url
    requests.post(f"{url}/moto-api/reset", timeout=5)
    server.stop()


def qsconform(*args):
    return subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", *args], capture_output=True, text=True,
                          timeout=600)


def listed(url):
    """Every user name moto lists (None for the IAM identities it keeps so), as a signed ListUsers reads them."""
    from qsconform.conformance.wire.targets import open_target
    from qsconform.conformance.wire.transport import Transport

    with open_target(url) as target, Transport(target, SPEC) as transport:
        answer = transport.call("ListUsers", {"AwsAccountId": target.account_id, "Namespace": "default"})
    return [user.get("UserName") for user in answer.json_body["UserList"]]


def test_a_run_against_moto_by_url_reports_only_what_moto_cannot_delete(moto_url, tmp_path):
    result = qsconform("run", "--target", moto_url, "--profile", "quick", "--seed", "11", "--report-dir", str(tmp_path))
    assert result.returncode == 1, result.stderr[-2000:]  # moto fails rules
    target = json.loads((tmp_path / "compliance.json").read_text())["target"]
    prefix, left = target["user_prefix"], target["users_left_behind"]
    kinds = target["users_left_behind_kinds"]
    # Every user of the run still on moto is reported, and only those (an empty name too: an invalid registration
    # moto accepted; it is the run's, though outside its prefix).
    still = listed(moto_url)
    assert sorted(n for n in still if isinstance(n, str) and (n.startswith(prefix) or n == "")) == sorted(left)
    assert sorted(name for kind in kinds for name in kind["names"]) == sorted(left)
    for kind in kinds:  # each a gap of moto's, said so; the IAM identities moto keeps as None counted apart
        assert MOTO_GAPS.match(kind["kind"]) or (kind["kind"] == UNNAMED and kind["count"] > 0), kind
    assert any(kind["kind"].startswith("names holding '/'") for kind in kinds)
    said = result.stdout[result.stdout.index("Could not delete"):result.stdout.index("Reports:")]
    assert all(len(line) < 400 and not CONTROL.search(line) for line in said.splitlines()), said
    named = [kind for kind in kinds if kind["names"]]
    assert len([line for line in said.splitlines() if re.match(r"  \d+: ", line)]) == len(named)  # a line per kind
    command = re.sub(r"\s*\\\n\s*", " ", said)  # the console continues a long command with a backslash
    assert f"qsconform sweep --target {moto_url} --region us-east-1 --account-id 123456789012 --prefix {prefix}" \
        in command
    assert not CONTROL.search(result.stdout + result.stderr)

    swept = qsconform("sweep", "--target", moto_url, "--prefix", prefix)
    assert swept.returncode == 1 and not CONTROL.search(swept.stdout + swept.stderr), swept.stdout + swept.stderr
    lines = swept.stdout.splitlines()
    under = [name for name in left if name.startswith(prefix)]  # a sweep sees only names under the prefix
    assert lines[0].startswith(f"sweep: deleted 0 user(s) under {prefix} but could not delete {len(under)}, by kind")
    assert all(MOTO_GAPS.match(line.split(": ", 1)[1]) and len(line) < 400 for line in lines[1:]), lines
