"""Rules judged side by side (conformance/engine/side_by_side.py): the same verdicts as one at a time, and what keeps
them so (locks per user name, per-thread state, a server log that never gives one request another's lines)."""
from __future__ import annotations

import logging
import threading

import pytest

from qsconform.conformance.engine.exchanger import NameLocks
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.engine.session import RunSession
from qsconform.conformance.engine.side_by_side import DEFAULT, default_concurrency
from qsconform.conformance.reference import start_reference
from qsconform.conformance.wire.serverlog import ServerLog
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec
from tests.reference_runs import UNSHRUNK, Job, judge_run

SPEC = default_spec()

# Faults that change the target's state where it should not (a refused registration stored, a duplicate
# overwritten, an update lost) or answer refusals with statuses a beside request could be blamed for: what
# a lock per user name must keep from turning into another rule's verdict.
STATEFUL_FAULTS = ("register-email-required-unchecked", "iam-with-username-accepted", "duplicate-accepted",
                   "update-not-persisted", "not-found-as-400", "refusals-500", "request-id-body-missing")


PAIRS = {"faithful": {}, "stateful faults": {"faults": STATEFUL_FAULTS}, "moto": {"target": "moto"}}


def serial_and_side_by_side(name: str):
    """The same run (seed, profile, target) one rule at a time and four side by side."""
    return tuple(judge_run(Job(f"{name}, concurrency {n}", profile=UNSHRUNK, concurrency=n, **PAIRS[name]))
                 for n in (1, 4))


@pytest.mark.parametrize("name", PAIRS)
def test_same_seed_same_verdicts_serial_or_side_by_side(name):
    serial, side_by_side = serial_and_side_by_side(name)
    assert serial.errors == {} and side_by_side.errors == {}, (serial.errors, side_by_side.errors)
    differing = {rid: (status, side_by_side.statuses[rid]) for rid, status in serial.statuses.items()
                 if side_by_side.statuses[rid] != status}
    assert differing == {}
    if name != "faithful":  # the comparison means something: the target fails rules, several of them
        assert serial.count("failed") >= 5, serial.statuses
    if name == "stateful faults":
        the_stateful_faults_fail_the_rules_they_break_and_no_other(side_by_side)


def the_stateful_faults_fail_the_rules_they_break_and_no_other(side_by_side):
    """Users a fault stored or overwrote do not make a beside rule's valid registration fail. (Part of the test
    above: the pair of runs is its longest work.)"""
    assert side_by_side.statuses["RegisterUser.Email.required"] == "failed"
    assert side_by_side.statuses["RegisterUser.lifecycle.duplicate-refused"] == "failed"
    assert side_by_side.statuses["UpdateUser.lifecycle.update-persists"] in ("failed", "advisory")
    for rule_id in ("RegisterUser.response.success-status", "RegisterUser.response.echo",
                    "UpdateUser.response.success-status"):
        assert side_by_side.statuses[rule_id] == "passed", side_by_side.messages[rule_id]


def test_default_concurrency_by_target():
    with open_target("reference") as embedded:
        assert default_concurrency(embedded) == DEFAULT["embedded"] == 1
    with start_reference() as server, open_target(server.url) as remote:
        assert default_concurrency(remote) == DEFAULT["remote"] > 1


# -- what keeps them so -------------------------------------------------------------------------


def _hold(locks, mode, name, entered, release):
    with getattr(locks, mode)(name):
        entered.set()
        release.wait(5)


def _started(locks, mode, name):
    entered, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_hold, args=(locks, mode, name, entered, release), daemon=True)
    thread.start()
    return entered, release, thread


def test_readers_share_a_name_and_a_writer_has_it_alone():
    locks = NameLocks()
    first, release_first, t1 = _started(locks, "shared", "u")
    second, release_second, t2 = _started(locks, "shared", "u")
    assert first.wait(2) and second.wait(2)  # two readers at once
    writer, release_writer, t3 = _started(locks, "alone", "u")
    assert not writer.wait(0.2)  # waits for the readers
    late_reader, release_late, t4 = _started(locks, "shared", "u")
    assert not late_reader.wait(0.2)  # a waiting writer holds new readers back
    other, release_other, t5 = _started(locks, "alone", "v")
    assert other.wait(2)  # another name is not held up
    release_first.set(), release_second.set()
    assert writer.wait(2)
    assert not late_reader.wait(0.2)  # the writer has the name alone
    release_writer.set()
    assert late_reader.wait(2)
    for event in (release_late, release_other):
        event.set()
    for thread in (t1, t2, t3, t4, t5):
        thread.join(2)


def test_each_thread_sends_over_its_own_session():
    with open_target("reference") as target:
        transport = Transport(target, SPEC)
        seen = []
        threads = [threading.Thread(target=lambda: seen.append(transport.session)) for _ in range(3)]
        for thread in threads:
            thread.start()
            thread.join()
        assert len({id(s) for s in seen}) == 3 and transport.session not in seen
        transport.close()
        assert transport._sessions == []


def test_a_recording_labels_each_thread_with_its_own_rule(tmp_path):
    from qsconform.conformance.cassette import Cassette

    with open_target("reference") as target:
        cassette = Cassette.recording(tmp_path / "c.json", target=target, prefix="qsc-0-")
        inside = threading.Event()
        done = threading.Event()

        def other():
            with cassette.judging("UpdateUser.response.echo"):
                inside.set()
                done.wait(2)
                assert cassette.rule_id == "UpdateUser.response.echo"

        thread = threading.Thread(target=other)
        with cassette.judging("RegisterUser.response.echo"):
            thread.start()
            assert inside.wait(2)
            assert cassette.rule_id == "RegisterUser.response.echo"
            done.set()
            thread.join(2)
        assert cassette.rule_id is None


def test_a_server_log_gives_no_exchange_a_line_it_cannot_claim():
    logger = logging.getLogger("qsconform.reference")
    log = ServerLog({"qsconform.reference": logging.DEBUG}).attach()
    try:
        def emit(text):
            thread = threading.Thread(target=lambda: logger.error(text))
            thread.start()
            thread.join()

        alone = log.begin()
        emit("only one in flight")  # the only exchange in flight: its line
        first, second = log.begin(), log.begin()
        emit("which one?")  # two in flight, a thread neither knows: nobody's
        assert alone.end(200) == ("ERROR qsconform.reference: only one in flight",)
        assert first.end(200) == () and second.end(200) == ()
    finally:
        log.detach()


def test_closing_a_session_stops_the_rules_in_flight_and_deletes_what_they_made(monkeypatch):
    with start_reference(latency_ms=5) as server:
        config = RunConfig(target=server.url, profile="default", seed=3, concurrency=4)
        session = RunSession(config, SPEC)
        run = session.start()
        account = session.target.account_id
        made, stopped = threading.Event(), threading.Event()
        registered, after_stop = [], []

        def watch(sent):  # RegisterUser and UpdateUser answered: counted once the run is told to stop
            if sent.operation not in ("RegisterUser", "UpdateUser"):
                return
            if stopped.is_set():
                after_stop.append(sent.operation)
            elif sent.operation == "RegisterUser" and 200 <= sent.response.status < 300:
                registered.append(sent)
                if len(registered) >= 5:
                    made.set()

        stop = run.exchanger.stop
        monkeypatch.setattr(run.exchanger, "stop", lambda: (stop(), stopped.set()))
        run.transport.observers.append(watch)
        session.judge_ahead([rule for rule in SPEC.rules if rule.sent])
        assert made.wait(timeout=600), "no users were created before the session closed"
        session.close()  # as the plugin's fixture does on Ctrl-C
        # The rules in flight stopped at their next request (at most the one each had in flight is answered after
        # the stop; the default profile's whole run sends thousands), the rules not started were dropped, and what
        # the run made is gone.
        assert len(after_stop) <= config.concurrency
        assert sum(1 for r in run.results.rules.values() if r.status == "deselected") > 50
        assert server.store.names(account) == [] and run.left_behind == []


def test_ctrl_c_while_the_chains_are_computed_stops_the_rules_already_started(monkeypatch):
    """The lifecycle rules start before the boundary chains are computed: an interrupt in between must not leave
    them running (unseen by the session's close, they would send beside its cleanup and hold the exit)."""
    with start_reference(latency_ms=5) as server:
        session = RunSession(RunConfig(target=server.url, profile="default", seed=3, concurrency=4), SPEC)
        run = session.start()
        monkeypatch.setattr(run.runner, "examples_for", lambda rule: (_ for _ in ()).throw(KeyboardInterrupt))
        try:
            with pytest.raises(KeyboardInterrupt):
                session.judge_ahead([rule for rule in SPEC.rules if rule.sent])
            assert [t.name for t in threading.enumerate() if t.name.startswith("qsconform-rule")] == []
        finally:
            session.close()
        assert server.store.names(session.target.account_id) == [] and run.left_behind == []


def test_the_command_line_judges_the_chosen_rules_side_by_side(tmp_path):
    import json
    import subprocess
    import sys

    chosen = ["RegisterUser.UserName.pattern", "RegisterUser.response.echo", "UpdateUser.lifecycle.update-persists"]
    with start_reference() as server:
        result = subprocess.run(
            [sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", server.url, "--profile", "quick",
             "--concurrency", "3", "--report-dir", str(tmp_path), *[a for r in chosen for a in ("--rule", r)]],
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert server.store.names("123456789012") == []  # cleaned up
    document = json.loads((tmp_path / "compliance.json").read_text())
    assert document["concurrency"] == 3
    assert "3 rules side by side" in result.stdout
    statuses = {r["id"]: r["status"] for r in document["rules"]}
    assert {rid: statuses[rid] for rid in chosen} == dict.fromkeys(chosen, "passed")
    # The rules left out were not judged ahead all the same.
    # (The lifecycle machine meets every lifecycle rule on its way, and records them.)
    assert {rid: s for rid, s in statuses.items()
            if rid not in chosen and s not in ("deselected", "unsent") and ".lifecycle." not in rid} == {}


def test_cleanup_deletes_side_by_side_and_reports_what_it_could_not():
    from qsconform.conformance.engine.ledger import UserLedger

    ledger = UserLedger("qsc-0-")
    for i in range(12):
        ledger.record(f"qsc-0-u{i}")
    ledger.record("qsc-0-u3")  # recorded twice: deleted once
    threads, lock, calls = set(), threading.Lock(), []
    beside = threading.Barrier(2)  # the first two deletes meet: they can only if they run at once

    def delete(name):
        with lock:
            threads.add(threading.current_thread().name)
            calls.append(name)
            first_two = len(calls) <= 2
        if first_two:
            beside.wait(timeout=120)
        return name != "qsc-0-u7"  # the target refuses to delete this one

    assert ledger.cleanup(delete, workers=4) == ["qsc-0-u7"]
    assert len(threads) > 1  # several at once
    assert [n for n in (f"qsc-0-u{i}" for i in range(12)) if ledger.holds(n)] == ["qsc-0-u7"]
