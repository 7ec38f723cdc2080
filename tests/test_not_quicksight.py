"""A target that is no QuickSight endpoint (a static file server) is said so in one line, exit 3, before anything is
judged; a target that implements RegisterUser and not UpdateUser keeps its UpdateUser rules unsupported."""
import functools
import http.server
import subprocess
import sys
import threading

import pytest

from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.engine.session import RunSession
from qsconform.conformance.reference import start_reference
from qsconform.spec.loader import default_spec

pytestmark = pytest.mark.e2e
SPEC = default_spec()


@pytest.fixture
def static_server(tmp_path):
    """Python's own static file server, on loopback: it answers GET with files and POST with 501 and an HTML page."""
    (tmp_path / "index.html").write_text("<html><body>a static site</body></html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def qsconform(*args):
    return subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("command", ["run", "probe"])
def test_a_static_file_server_is_no_quicksight_endpoint(static_server, tmp_path, command):
    more = {"run": ["--profile", "quick", "--report-dir", str(tmp_path / "r")],
            "probe": ["--record", str(tmp_path / "cassette.json")]}[command]
    result = qsconform(command, "--target", static_server, *more)
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    said = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert said == [f"qsconform: target {static_server}: not a QuickSight REST endpoint? RegisterUser answered "
                    "501 Not Implemented with an HTML page"], said
    assert not (tmp_path / "r").exists()  # nothing judged, nothing reported


def register_user_only(app):
    """The reference server's WSGI app, but UpdateUser (PUT .../users/NAME) answered 404 as a server without it would."""
    def wsgi(environ, start_response):
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        if environ["REQUEST_METHOD"] == "PUT" and len(parts) == 6 and parts[4] == "users":
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
            return [b"not found"]
        return app(environ, start_response)
    return wsgi


def test_a_target_implementing_register_user_only_keeps_update_user_unsupported():
    with start_reference() as server:
        server._httpd.app = register_user_only(server.app)
        config = RunConfig(target=server.url, profile="quick", seed=5, concurrency=1)
        with RunSession(config, SPEC) as run:
            for rule in SPEC.rules:
                if rule.sent:
                    run.judge_rule(rule)
        statuses = {rule_id: result.status for rule_id, result in run.results.rules.items()}
        left = server.store.names("123456789012")
    update = {rule_id: status for rule_id, status in statuses.items() if rule_id.startswith("UpdateUser.")}
    assert set(update.values()) == {"unsupported"}, update
    register = {rule_id: status for rule_id, status in statuses.items() if rule_id.startswith("RegisterUser.")}
    assert "failed" not in register.values() and "unsupported" not in register.values(), register
    assert sum(status == "passed" for status in register.values()) > 50
    assert run.results.exit_code() == 0 and run.left_behind == [] and left == []
    assert "UpdateUser" in run.exchanger.unsupported and "404" in run.exchanger.unsupported["UpdateUser"]
