"""The parts a run is made of, one at a time: its options (declared once), the ledger of the users it
created, and the session that opens a target and always closes it."""
import argparse
import json
from dataclasses import replace

import pytest

from qsconform.conformance import plugin

from qsconform.conformance.engine.ledger import UserLedger
from qsconform.conformance.tools import exits
from qsconform.conformance.tools.cli import build_parser
from qsconform.conformance.tools.options import (RUN_OPTIONS, TARGET_OPTIONS, RunSettings, namespace_value, run_settings,
                                                 worker_settings)
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.engine.session import RunSession, reference_options
from qsconform.spec.loader import default_spec

SPEC = default_spec()
ALL = TARGET_OPTIONS + RUN_OPTIONS


# -- options ----------------------------------------------------------------------------------

def test_run_and_the_pytest_plugin_offer_the_same_options_with_the_same_help():
    run = next(a for a in build_parser()._subparsers._group_actions[0].choices["run"]._actions
               if a.option_strings == ["--profile"])
    seen = {}

    class Group:
        def addoption(self, flag, **kwargs):
            seen[flag] = kwargs

    class Parser:
        def getgroup(self, *args):
            return Group()

    plugin.pytest_addoption(Parser())
    assert set(seen) == {o.in_pytest[0] for o in ALL}
    assert seen["--profile"]["help"] == run.help and seen["--profile"]["choices"] == run.choices
    assert seen["--strict-verdicts"]["dest"] == "qs_strict"  # pytest owns --strict


GIVEN = ["--target", "reference", "--profile", "quick", "--seed", "7", "--live", "--iam-arn", "arn:a", "--iam-arn",
         "arn:b", "--fault", "no-request-id", "--reference-option", "status_in_body=true", "--rule",
         "RegisterUser.UserName.pattern", "--level", "must", "--shard", "1/2", "--report-dir", "out", "--max-users", "5"]


def _settings_of_run(words):
    return run_settings(namespace_value(build_parser().parse_args(["run", *words])))


def test_the_plugin_reads_its_own_options_as_run_reads_them():
    # Plain `pytest conformance/suite --target ...` reads the plugin's options into the RunSettings `qsconform run`
    # builds from the same words (pytest's --strict is the plugin's --strict-verdicts).
    parsed = argparse.ArgumentParser()
    for o in ALL:
        flag, dest = o.in_pytest
        parsed.add_argument(flag, dest=dest, **o.kwargs)
    back = parsed.parse_args([*GIVEN, "--strict-verdicts"])
    from_pytest = run_settings(lambda flag: getattr(back, next(o for o in ALL if o.flag == flag).in_pytest[1]))
    from_run = _settings_of_run([*GIVEN, "--strict"])
    assert replace(from_pytest, config=replace(from_pytest.config, prefix="p")) == \
        replace(from_run, config=replace(from_run.config, prefix="p"))
    cfg = from_run.config
    assert (cfg.target, cfg.profile, cfg.seed, cfg.live, cfg.iam_arns, cfg.strict, cfg.faults) == \
        ("reference", "quick", 7, True, ("arn:a", "arn:b"), True, ("no-request-id",))
    assert (from_run.rules, from_run.levels, from_run.shard, from_run.report_dir, from_run.reference_options) == \
        (("RegisterUser.UserName.pattern",), ("MUST",), "1/2", "out", ("status_in_body=true",))
    assert cfg.region is None  # an option not given keeps its default


def test_the_settings_reach_an_xdist_worker_as_json_unchanged():
    settings = _settings_of_run([*GIVEN, "--strict", "--examples", "3", "--observations", "o.json"])
    assert RunSettings.from_dict(json.loads(json.dumps(settings.as_dict()))) == settings
    # Each worker is a run of its own: its users named apart, --max-users shared out among the workers.
    shares = [worker_settings(settings, f"gw{i}", 2).config for i in range(2)]
    assert [c.max_users for c in shares] == [3, 2]
    assert [c.prefix for c in shares] == [f"{settings.config.prefix}gw0-", f"{settings.config.prefix}gw1-"]


def test_run_hands_pytest_its_own_arguments_and_the_settings_in_a_plugin_object(monkeypatch):
    import pytest as the_pytest

    from qsconform.conformance.tools import cli

    seen = {}

    def main(args, plugins):
        seen["args"], seen["plugins"] = args, plugins
        return 0

    monkeypatch.setattr(cli, "_preflight", lambda ns: None)
    monkeypatch.setattr(the_pytest, "main", main)
    assert cli.main(["run", *GIVEN, "-n", "2", "--", "-k", "UserName"]) == exits.OK  # pytest's own 0: no report
    flags = {o.in_pytest[0] for o in ALL}
    assert not flags & set(seen["args"]), seen["args"]
    assert seen["args"][-4:] == ["-n", "2", "-k", "UserName"]
    [handed] = seen["plugins"]
    assert isinstance(handed, plugin.CommandLineRun)
    assert replace(handed.settings, config=replace(handed.settings.config, prefix="p")) == \
        replace(_settings_of_run(GIVEN), config=replace(_settings_of_run(GIVEN).config, prefix="p"))


def test_qsconform_options_after_the_dashes_are_one_line_and_exit_2(capsys):
    # Read once, before pytest starts: after --, where pytest's plugin would take them, they would be ignored.
    from qsconform.conformance.tools import cli

    assert cli.main(["run", "--target", "reference", "--", "-q", "--seed=5", "--strict-verdicts", "--strict"]) == \
        exits.USAGE
    assert capsys.readouterr().err.splitlines() == \
        ["qsconform: --seed, --strict after --: qsconform run's own options go before -- (after it, pytest's)"]


def test_exit_codes_are_distinct():
    codes = [exits.OK, exits.FAILED, exits.USAGE, exits.UNREACHABLE, exits.INTERNAL, exits.INTERRUPTED]
    assert len(set(codes)) == len(codes)


def test_reference_options_read_booleans_and_carry_the_faults():
    config = RunConfig(target="reference", faults=("no-request-id",))
    assert reference_options(config, ["status_in_body=true", "constraint_error=ValidationException"]) == \
        {"faults": ("no-request-id",), "status_in_body": True, "constraint_error": "ValidationException"}


# -- the ledger --------------------------------------------------------------------------------

def test_the_ledger_deletes_the_last_created_first_and_reports_what_stays():
    ledger = UserLedger("qsc-1-")
    for name in ("qsc-1-a", "qsc-1-b", "qsc-1-c"):
        ledger.record(name)
    asked = []

    def delete(name):
        asked.append(name)
        if name == "qsc-1-b":
            raise ConnectionError("lost")
        return name != "qsc-1-c"

    assert ledger.cleanup(delete) == ["qsc-1-c", "qsc-1-b"]
    assert asked == ["qsc-1-c", "qsc-1-b", "qsc-1-a"]
    assert ledger.holds("qsc-1-b") and not ledger.holds("qsc-1-a")


def test_a_name_in_flight_is_deleted_only_under_the_prefix():
    ledger = UserLedger("qsc-1-")
    with pytest.raises(KeyboardInterrupt):
        with ledger.creating("qsc-1-x"):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        with ledger.creating("alice"):
            raise KeyboardInterrupt
    with pytest.raises(LookupError):
        with ledger.creating("qsc-1-refused", refused=(LookupError,)):  # the target said no: nothing was created
            raise LookupError("throttled")
    with pytest.raises(ConnectionError):
        with ledger.creating("qsc-1-lost", "team", refused=(LookupError,)):  # no answer: it may exist
            raise ConnectionError("lost")
    deleted = []
    assert ledger.cleanup(lambda name: deleted.append((name, ledger.namespace_of(name))) or True) == []
    assert deleted == [("qsc-1-x", None), ("qsc-1-lost", "team")] or \
        deleted == [("qsc-1-lost", "team"), ("qsc-1-x", None)]
    assert ledger.maybe_created == ["alice"]


def test_a_user_recorded_twice_is_deleted_once():
    ledger = UserLedger("p-")
    ledger.record("p-a")
    ledger.record("p-a")
    deleted = []
    ledger.cleanup(lambda name: deleted.append(name) or True)
    assert deleted == ["p-a"]


def test_cleanup_verifies_by_reading_what_is_still_listed():
    ledger = UserLedger("p-")
    for name in ("p-gone", "p-stays", "p-unroutable", "p-refused"):
        ledger.record(name)
    with pytest.raises(ConnectionError):
        with ledger.creating("p-lost"):  # its answer lost: of unknown fate until read
            raise ConnectionError("reset")
    target = {"p-gone", "p-stays", "p-refused"}  # p-unroutable and p-lost were never there
    answers = {"p-gone": (True, ""), "p-stays": (True, ""), "p-lost": (False, "DeleteUser answered 404 (no AWS error type)"),
               "p-unroutable": (False, "DeleteUser answered 404 (no AWS error type)"),
               "p-refused": (False, "DeleteUser answered 403 AccessDeniedException")}
    asked = []

    def delete(name):
        asked.append(name)
        if name == "p-gone":
            target.discard(name)
        return answers[name]

    left = ledger.cleanup(delete, listed=lambda names: set(target))
    assert sorted(left) == ["p-refused", "p-stays"]  # a refusal is an answer; a delete that said done is read back
    assert ledger.why_left == {"p-stays": "DeleteUser answered success, but the user is still listed",
                               "p-refused": "DeleteUser answered 403 AccessDeniedException"}
    assert asked.count("p-stays") == 2 and asked.count("p-gone") == 1
    assert ledger.unknown() == [] and not ledger.holds("p-lost")


def test_without_a_read_a_name_of_unknown_fate_is_reported_as_such():
    from qsconform.conformance.engine.ledger import LOST

    ledger = UserLedger("p-")
    with pytest.raises(ConnectionError):
        with ledger.creating("p-lost"):
            raise ConnectionError("reset")
    assert ledger.cleanup(lambda name: (False, "lost"), listed=lambda names: None) == ["p-lost"]
    assert ledger.why_left == {"p-lost": LOST}


def test_a_name_outside_the_prefix_of_unknown_fate_is_left_alone_and_reported_only_if_it_is_there():
    ledger = UserLedger("p-")
    for name in ("alice", "bob"):
        with pytest.raises(ConnectionError):
            with ledger.creating(name):
                raise ConnectionError("reset")
    deleted = []
    assert ledger.cleanup(lambda name: deleted.append(name) or True, listed=lambda names: {"alice"}) == []
    assert deleted == [] and ledger.maybe_created == ["alice"] and ledger.unknown() == []


def test_a_read_settles_a_name_whose_answer_was_lost():
    ledger = UserLedger("p-")
    for name in ("p-made", "p-not", "p-unknown", "alice"):
        with pytest.raises(ConnectionError):
            with ledger.creating(name):
                raise ConnectionError("reset")
    ledger.settle("p-made", True, sound=True)
    ledger.settle("p-not", False)
    ledger.settle("p-unknown", None)
    ledger.settle("alice", True)  # outside the prefix: it may have existed before the run
    assert ledger.sound("p-made") and not ledger.holds("p-not") and ledger.unknown() == ["p-unknown"]
    assert not ledger.holds("alice") and ledger.maybe_created == ["alice"]
    ledger.record("p-up")
    ledger.unsettle("p-up")  # a lost update: made again before it is relied on
    assert ledger.holds("p-up") and not ledger.sound("p-up")


# -- the session -------------------------------------------------------------------------------

def test_a_session_deletes_what_its_run_created_and_closes_the_target():
    session = RunSession(RunConfig(target="reference", profile="quick", seed=3), SPEC)
    with session as run:
        run.check_rule(SPEC.rule("RegisterUser.UserName.pattern"))
        created = list(run.ledger.created)
        assert created and all(name.startswith(run.config.prefix) for name in created)
        endpoint = session.target.endpoint
    assert session.closed and run.left_behind == []
    import requests

    with pytest.raises(requests.ConnectionError):  # the reference server was stopped
        requests.get(endpoint, timeout=2)


def test_a_session_that_fails_while_starting_still_closes(monkeypatch):
    session = RunSession(RunConfig(target="reference", profile="quick", seed=3), SPEC)
    from qsconform.conformance.engine import run as run_module

    def broken(self):
        self.ledger.record(f"{self.config.prefix}probe")
        raise RuntimeError("probing failed")

    monkeypatch.setattr(run_module.Run, "find_unsupported", broken)
    deleted = []
    monkeypatch.setattr(run_module.UserLedger, "cleanup", lambda self, delete, workers=1, listed=None: deleted.extend(self.created) or [])
    with pytest.raises(RuntimeError):
        with session:
            pass
    assert session.closed and deleted == [f"{session.config.prefix}probe"]


def test_a_user_an_invalid_request_made_is_made_again_before_an_update():
    """A target that wrongly accepted an invalid registration may have stored what no registration can
    (an IdentityType that is an object): an update is not judged on that user, which is deleted and
    registered again; a user a valid request made is updated as it is."""
    from types import SimpleNamespace

    from qsconform.conformance.engine.preparation import Preparation
    from qsconform.spec.request import Expected, Request

    spec = default_spec()
    ledger = UserLedger("qsc-1-")
    sent, called = [], []
    ok = SimpleNamespace(status=200, error_type=None)
    preparation = Preparation(spec, ledger, send=lambda r: sent.append(r) or ok,
                              call=lambda op, labels: called.append((op, labels["UserName"])) or ok,
                              labels=lambda op, **extra: extra)
    update = Request(operation="UpdateUser", path_params={"UserName": "qsc-1-a"}, body={"Email": "a", "Role": "ADMIN"},
                     expected=Expected("success"))
    ledger.record("qsc-1-a")
    assert preparation.ready(update)
    preparation.prepare(update)
    assert sent == [] and called == []
    ledger.record("qsc-1-a", sound=False)  # an invalid registration of the same name, wrongly accepted
    assert not preparation.ready(update)
    preparation.prepare(update)
    assert called == [("DeleteUser", "qsc-1-a")]
    assert [(r.operation, r.body[spec["UpdateUser"].setup.member]) for r in sent] == [("RegisterUser", "qsc-1-a")]
    assert not ledger.holds("qsc-1-a")  # deleted; the run records the new one from the setup answer (_track)
