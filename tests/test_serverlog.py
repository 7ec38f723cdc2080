"""The log of a server the run started (embedded moto, the reference server), cut per exchange: what it logged
while answering a request is that request's, a crash's traceback included, never a credential, never on the
console; and it reaches the reports as the evidence of the rule that request failed."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading

import pytest

from qsconform.conformance.wire.redact import REDACTED
from qsconform.conformance.wire.serverlog import ServerLog
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec

SPEC = default_spec()

USERS = "/accounts/123456789012/namespaces/default/users"
CANARY = "qsc-canary-7f3a9e"


def served(logger: logging.Logger, message: str) -> None:
    """`message` logged from a thread of its own, as a server logs from the thread serving a connection."""
    thread = threading.Thread(target=logger.info, args=(message,))
    thread.start()
    thread.join()


def post(transport: Transport, path: str, body: bytes):
    return transport._exchange("POST", transport.target.endpoint + path, body, "application/json")


@pytest.fixture
def moto():
    with open_target("moto") as target:
        yield target, Transport(target, SPEC, backoff=0.005)


def test_a_crash_traceback_belongs_to_the_request_that_caused_it(moto, caplog):
    """moto answers a body that is not JSON with a 500 page and logs the traceback only after sending it: the
    traceback is that exchange's, whole, and the next exchange has its own request line alone."""
    target, transport = moto
    caplog.set_level(logging.DEBUG)
    crashed = post(transport, USERS, b"not json")
    assert crashed.status == 500
    log = "\n".join(crashed.server_log)
    assert f'"POST {USERS} HTTP/1.1" 500' in log and "\x1b[" not in log  # the request line, its colours gone
    assert "Traceback (most recent call last):" in log and crashed.server_log[-1].startswith("json.decoder.JSONDecodeError")
    fine = post(transport, USERS, json.dumps({"UserName": "qsc-log-a", "Email": "a@b.c", "IdentityType": "QUICKSIGHT",
                                              "UserRole": "READER"}).encode())
    assert fine.status == 200 and len(fine.server_log) == 1 and '" 200' in fine.server_log[0]
    assert not [r for r in caplog.records if r.name.startswith(("werkzeug", "moto"))]  # nothing on the console's way


def test_no_credential_in_a_server_log(moto):
    """Every captured line passes the target's redactor: a secret the target knows never lands in it."""
    target, transport = moto
    target.redactor.add(CANARY)
    answered = post(transport, f"{USERS}/{CANARY}-x", b"not json")
    log = "\n".join(answered.server_log)
    assert CANARY not in log and f"{REDACTED}-x" in log


def test_the_evidence_of_a_crash_carries_its_log_redacted_into_the_reports(moto):
    """Through the run: the evidence of a request moto crashed on holds the request line as sent and the
    traceback, and neither compliance.json nor compliance.html ever holds a credential the target knows."""
    from qsconform.conformance.engine.run import Run
    from qsconform.conformance.engine.run_config import RunConfig
    from qsconform.conformance.reporting.render.html import render_html
    from qsconform.conformance.reporting.render.sample import sample_document
    from qsconform.spec.loader import default_spec
    from qsconform.spec.request import Expected, Request

    target, transport = moto
    target.redactor.add(CANARY)
    spec = default_spec()
    run = Run(RunConfig(target="moto", profile="quick", seed=1), spec, target, transport)
    request = Request("UpdateUser", {"AwsAccountId": "123456789012", "Namespace": "default", "UserName": CANARY},
                      {}, Expected("error", answers=((400, "SerializationException"),)), raw_body=b"{not json")
    response = run.exchanger.send(request)
    evidence = run.recorder.evidence(request, response, "answered 500", "MUST").as_dict()
    assert evidence["request"]["method"] == "PUT" and evidence["request"]["path"].endswith(f"/users/{REDACTED}")
    assert "Traceback (most recent call last):" in evidence["server_log"]
    doc = sample_document()
    doc["rules"][0]["example"] = evidence
    for report in (json.dumps(doc), render_html(doc)):
        assert CANARY not in report and "Traceback (most recent call last):" in report


def test_the_server_loggers_are_given_back_as_they_were():
    werkzeug = logging.getLogger("werkzeug")
    before = (werkzeug.level, list(werkzeug.filters), list(werkzeug.handlers))
    first, second = ServerLog({"werkzeug": logging.INFO}).attach(), ServerLog({"werkzeug": logging.INFO}).attach()
    assert werkzeug.level == logging.INFO and len(werkzeug.filters) == len(before[1]) + 1
    first.detach()
    assert werkzeug.level == logging.INFO  # the other one still captures
    second.detach()
    assert (werkzeug.level, list(werkzeug.filters), list(werkzeug.handlers)) == before


def test_two_servers_logs_are_each_their_own():
    """Two targets open in one process (a live comparison): each exchange has what was logged while it was in
    flight, whichever ServerLog attached first."""
    logger = logging.getLogger("qsconform.test-serverlog")
    first, second = (ServerLog({"qsconform.test-serverlog": logging.INFO}).attach() for _ in range(2))
    try:
        one = first.begin()
        served(logger, "for the first")
        one.end(200)
        two = second.begin()
        served(logger, "for the second")
        assert two.end(200) == ("INFO qsconform.test-serverlog: for the second",)
        assert one.lines == ("INFO qsconform.test-serverlog: for the first",)
    finally:
        first.detach()
        second.detach()


def test_records_outside_an_exchange_are_nobodys():
    log = ServerLog({"qsconform.test-serverlog": logging.INFO}).attach()
    logger = logging.getLogger("qsconform.test-serverlog")
    try:
        logger.info("before any request")
        capture = log.begin()
        logger.info("while answering")
        lines = capture.end(200)
        # Once end() has returned (it waits for a crash's late traceback), the exchange is over: no record
        # joins it, from the thread that served it or another (a reset), nor a new exchange begun later.
        logger.info("after the answer")
        served(logger, "a reset")
        assert lines == ("INFO qsconform.test-serverlog: while answering",)
        assert capture.lines == lines
        later = log.begin()
        assert later.end(200) == ()
    finally:
        log.detach()


def test_the_reference_servers_crash_is_in_its_answers_log():
    with open_target("reference", reference_options={"faults": ("malformed-json-500",)}) as target:
        answered = post(Transport(target, SPEC, backoff=0.001, max_retries=1), USERS, b"{not json")
    assert answered.status == 500
    log = "\n".join(answered.server_log)
    assert "crashed" in log and "Traceback (most recent call last):" in log


@pytest.mark.e2e
def test_a_failed_rule_carries_the_server_log_into_the_reports(tmp_path):
    """Against moto, RegisterUser.protocol.body-not-json fails on a 500 whose traceback moto logs: compliance.json
    holds it in the rule's evidence, compliance.html and compliance.md fold it there, the console never shows it."""
    rule = "RegisterUser.protocol.body-not-json"
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--profile", "quick", "--seed", "3",
                           "--examples", "0", "--rule", rule, "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    [judged] = [r for r in json.loads((tmp_path / "compliance.json").read_text())["rules"] if r["id"] == rule]
    example = judged["example"]
    assert judged["status"] == "failed" and example["response"]["status"] == 500
    log = "\n".join(example["server_log"])
    assert "Traceback (most recent call last):" in log and f'"POST {USERS} HTTP/1.1" 500' in log
    assert example["request"]["method"] == "POST" and example["request"]["path"] == USERS
    page = (tmp_path / "compliance.html").read_text()
    assert '<details class="server-log">' in page and "Traceback (most recent call last):" in page
    assert "Traceback (most recent call last):" in (tmp_path / "compliance.md").read_text()
    assert "Traceback" not in done.stdout + done.stderr and "werkzeug" not in done.stdout + done.stderr
