"""Replay a cassette recorded from a faithful server against moto and against a faithful server; compare live."""
import dataclasses
import json
import socket

import pytest

from qsconform.conformance.cassette import Cassette, CassetteError, load_cassette
from qsconform.conformance.compare import (Allowance, CompareError, CompareReport, Difference, Outcome, differences,
                                           draw_requests, judge, live, load_allowances, main, replay, rule_level)
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec
from qsconform.spec.request import Expected, Request
from qsconform.strategies.config import StrategyConfig
from test_cassette import PREFIX, labels, open_server_target, register, update
from test_cassette_server import FaithfulServer

SPEC = default_spec()


@pytest.fixture(scope="module")
def moto_server():
    with open_target("moto") as target:
        yield target


@pytest.fixture
def moto(moto_server):
    # moto keeps its users in the process, shared by every moto server: start and leave it empty
    moto_server.reset()
    yield moto_server
    moto_server.reset()


@pytest.fixture(scope="module")
def cassette_path(tmp_path_factory):
    """A run recorded from the faithful server: two registrations, updates (one of a missing user), a
    registration of an existing user, a body that is not JSON, and a delete; alice is never deleted."""
    path = tmp_path_factory.mktemp("cassette") / "faithful.json"
    with FaithfulServer() as server, open_server_target(server) as target, Transport(target, SPEC) as transport:
        cassette = Cassette.recording(path, target=target, prefix=PREFIX)
        transport.observers.append(cassette.observe)
        with cassette.judging("RegisterUser.valid"):
            transport.send(register(PREFIX + "alice"))
            transport.send(register(PREFIX + "bob"))
        with cassette.judging("UpdateUser.valid"):
            transport.send(update(PREFIX + "alice"))
        with cassette.judging("UpdateUser.user-must-exist"):
            transport.send(update(PREFIX + "nobody"))
        with cassette.judging("RegisterUser.exists"):
            transport.send(register(PREFIX + "bob"))
        with cassette.judging("UpdateUser.protocol.body-not-json"):
            transport.send(dataclasses.replace(update(PREFIX + "alice"), raw_body=b"not json"))
        transport.call("DeleteUser", labels(UserName=PREFIX + "bob"))
        cassette.save()
    return path


def level_rule(level: str, operation: str = "RegisterUser") -> str:
    """A rule of the spec of this level (the spec is data: which rule has which level may change)."""
    return next(r.id for r in default_spec().rules if r.level == level and r.operation == operation)


def kinds(report, group):
    return {(d["kind"], d["path"]) for d in report.groups()[group]["differences"] if not d["allowed"]}


def moto_users(moto):
    with Transport(moto, SPEC) as t:
        r = t.call("ListUsers", {"AwsAccountId": moto.account_id, "Namespace": "default"})
        return [u["UserName"] for u in r.json_body.get("UserList", [])]


# -- replay -----------------------------------------------------------------------------------

def test_replay_against_the_same_kind_of_server_finds_nothing(cassette_path):
    with FaithfulServer(account_id="444455556666", region="ap-south-1") as server, \
            open_server_target(server) as target, Transport(target, SPEC) as transport:
        report = replay(load_cassette(cassette_path), transport, target)
        assert server.names() == []  # alice, never deleted in the recording, was deleted after the replay
    assert report.exit_code == 0, report.summary()
    assert [o.status for o in report.outcomes] == ["compared"] * 7
    assert report.summary().splitlines()[-1].startswith("SAME: no difference in 0 of ")
    assert "7 of 7 interactions compared" in report.summary(width=200)


def test_replay_against_moto_reports_its_differences(cassette_path, moto):
    with Transport(moto, SPEC) as transport:
        report = replay(load_cassette(cassette_path), transport)
    assert report.exit_code == 1
    assert {("status", "$status"), ("content_type", "$content_type"),
            ("missing_member", "RequestId")} <= kinds(report, "RegisterUser.valid")
    [registered] = [d for d in report.groups()["RegisterUser.valid"]["differences"] if d["kind"] == "status"]
    assert (registered["recorded"], registered["got"], registered["count"]) == (201, 200, 2)
    # not found: 404 with a typed JSON error recorded, moto answers 400
    missing = {(d["kind"], d["path"]): d for d in report.groups()["UpdateUser.user-must-exist"]["differences"]}
    assert (missing[("status", "$status")]["recorded"], missing[("status", "$status")]["got"]) == (404, 400)
    assert ("missing_member", "ResourceType") in missing and ("extra_member", "message") in missing
    # registering an existing user: moto accepts it
    exists = {d["path"]: d for d in report.groups()["RegisterUser.exists"]["differences"]}
    assert exists["$status"]["recorded"] == 409 and exists["$status"]["got"] == 200
    assert ("type", "$body") in kinds(report, "UpdateUser.protocol.body-not-json")  # 500 with an HTML page
    assert moto_users(moto) == []
    summary = report.summary(width=200).splitlines()
    group = summary.index("  answers 200, recorded 201 (1):")  # grouped by what differs first
    assert summary[group + 1] == "    RegisterUser: valid"
    assert summary[-1].startswith("DIFFERENT: ")


def test_report_as_json_names_every_difference(cassette_path, moto, tmp_path):
    with Transport(moto, SPEC) as transport:
        report = replay(load_cassette(cassette_path), transport)
    document = json.loads(report.write(tmp_path).read_text())
    assert document["exit_code"] == 1 and document["mode"] == "replay"
    assert document["totals"]["interactions"] == 7 and document["totals"]["differences"] == len(report.unallowed)
    first = document["interactions"][0]
    assert first["group"] == "RegisterUser.valid" and first["request"]["body"]["UserName"] == "{user-1}"
    assert {d["kind"] for d in first["differences"]} >= {"status", "content_type", "missing_member"}


def test_an_allowance_suppresses_only_what_it_names(cassette_path, tmp_path):
    allow = tmp_path / "allow.json"
    allow.write_text(json.dumps([{"path": "$status", "reason": "200 is a success too", "operation": "RegisterUser"}]))
    with FaithfulServer(register_status=200) as server:
        base = ["--target", server.url, "--region", server.region, "--account-id", server.account_id,
                "--recording", str(cassette_path)]
        assert main(base) == 1
        assert main(base + ["--allow", str(allow), "--report-dir", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r" / "compare.json").read_text())
    statuses = [d for i in report["interactions"] for d in i["differences"] if d["kind"] == "status"]
    assert len(statuses) == 2 and all(d["allowed"] == "200 is a success too" for d in statuses)
    # the RegisterUser of an existing user still answered 409 on both: nothing to allow there
    assert report["groups"]["RegisterUser.exists"]["differences"] == []


def test_differences_for_a_should_rule_are_advisory_unless_strict(tmp_path):
    """A recording labels each request with the rule it was sent for; a SHOULD rule is an inference, so where
    the target differs on its requests, compare lists it and exits 0, unless --strict."""
    should = level_rule("SHOULD")
    path = tmp_path / "should.json"
    with FaithfulServer() as server, open_server_target(server) as target, Transport(target, SPEC) as transport:
        cassette = Cassette.recording(path, target=target, prefix=PREFIX)
        transport.observers.append(cassette.observe)
        with cassette.judging(should):
            transport.send(register(PREFIX + "alice"))
        cassette.save()
    with FaithfulServer(register_status=200) as server:
        base = ["--target", server.url, "--region", server.region, "--account-id", server.account_id,
                "--recording", str(path)]
        assert main(base + ["--report-dir", str(tmp_path / "r")]) == 0
        assert main(base + ["--strict"]) == 1
    report = json.loads((tmp_path / "r" / "compare.json").read_text())
    assert report["strict"] is False and report["exit_code"] == 0
    assert report["totals"]["differences"] == report["totals"]["advisory_differences"] == 1
    assert report["groups"][should]["advisory"] is True and report["groups"][should]["level"] == "SHOULD"
    [status] = report["groups"][should]["differences"]
    assert (status["kind"], status["recorded"], status["got"]) == ("status", 201, 200)


def test_only_a_should_rule_makes_a_difference_advisory():
    spec = default_spec()
    must, observed, should = level_rule("MUST"), level_rule("OBSERVED"), level_rule("SHOULD")
    assert [rule_level(spec, r) for r in (must, observed, should)] == ["MUST", "OBSERVED", "SHOULD"]
    assert rule_level(spec, "RegisterUser.valid") is None and rule_level(spec, None) is None  # not rules
    assert rule_level(spec, "NoSuchOperation.rule") is None

    def outcome(rule_id, level):
        return Outcome(0, "RegisterUser", rule_id, {}, differences=[Difference("status", "$status", 201, 200)],
                       level=level)

    advisory_only = CompareReport("replay", "t", "r", [outcome(should, "SHOULD")])
    assert advisory_only.exit_code == 0 and len(advisory_only.advisories) == 1
    summary = advisory_only.summary(width=200).splitlines()
    assert "Advisory: 1 SHOULD rule(s) differ; they change the exit code only under --strict" in summary
    operation, _, local = should.partition(".")
    assert summary[summary.index("  answers 200, recorded 201 (1):") + 1] == f"    {operation} [SHOULD]: {local}"
    assert summary[-1].startswith("SAME: 1 difference(s) (1 advisory)")
    advisory_only.strict = True
    assert advisory_only.exit_code == 1
    for rule_id, level in ((must, "MUST"), (observed, "OBSERVED"), ("RegisterUser.valid", None)):
        report = CompareReport("replay", "t", "r", [outcome(should, "SHOULD"), outcome(rule_id, level)])
        assert report.exit_code == 1 and len(report.advisories) == 1, level


def test_allowances_match_by_path_kind_and_operation():
    d = Difference("value", "Tags[3].Value", "a", "b")
    assert judge([d], "RegisterUser", [Allowance("Tags[].Value", "why")])[0].allowed == "why"
    assert judge([d], "RegisterUser", [Allowance("Tags*", "why")])[0].allowed == "why"
    assert judge([d], "RegisterUser", [Allowance("Tags[].Value", "why", frozenset({"type"}))])[0].allowed is None
    assert judge([d], "RegisterUser", [Allowance("Tags[].Value", "why", operation="UpdateUser")])[0].allowed is None
    assert judge([d], "RegisterUser", [Allowance("Tags", "why")])[0].allowed is None


def test_shape_and_value_differences():
    def answer(body, **kw):
        return {"status": 200, "error_type": None, "content_type": "application/json", "request_id_header": True,
                "body_kind": "json", "body": body, **kw}
    found = differences(answer({"User": {"Active": False, "Email": "a", "Tags": [1]}, "Gone": {"X": 1}}),
                        answer({"User": {"Active": "false", "Email": "b", "Tags": [1, 2], "New": 1}},
                               request_id_header=False))
    got = {(d.kind, d.path) for d in found}
    assert got == {("missing_member", "$header.x-amzn-RequestId"), ("missing_member", "Gone"),
                   ("extra_member", "User.New"), ("type", "User.Active"), ("value", "User.Email"),
                   ("value", "User.Tags")}  # Gone.X is not reported again under Gone


def test_users_are_deleted_when_a_replay_stops_on_an_exception(cassette_path):
    with FaithfulServer() as server, open_server_target(server) as target, Transport(target, SPEC) as transport:
        def stop_after_the_first_registration(sent):
            if sent.operation == "RegisterUser" and len(server.names()) == 1 and not stopped:
                stopped.append(sent)
                raise RuntimeError("interrupted")
        stopped = []
        transport.observers.append(stop_after_the_first_registration)
        with pytest.raises(RuntimeError):
            replay(load_cassette(cassette_path), transport, target)
        assert stopped and server.names() == []


def test_users_left_behind_by_a_replay_that_stops_are_named_in_a_warning(cassette_path, moto, caplog):
    class Stop(Exception):
        pass

    def stop_at_the_update(sent):
        if sent.operation == "UpdateUser":
            raise Stop()

    iam = Request("RegisterUser", {"AwsAccountId": moto.account_id, "Namespace": "default"},
                  {"Email": "a@example.com", "IdentityType": "IAM", "UserRole": "READER",
                   "IamArn": f"arn:aws:iam::{moto.account_id}:user/qsc-draw1234-iam"}, Expected("success"))
    update_ = Request("UpdateUser", {"AwsAccountId": moto.account_id, "Namespace": "default",
                                     "UserName": "qsc-draw1234-x"}, {"Email": "e", "Role": "READER"},
                      Expected("success"))
    config = StrategyConfig(account_id=moto.account_id, user_prefix="qsc-draw1234-")
    with Transport(moto, SPEC) as t_a, Transport(moto, SPEC) as t_b:
        t_a.observers.append(stop_at_the_update)
        with pytest.raises(Stop):
            live([iam, update_], t_a, t_b, drawn_with=config)
    # moto names an IAM user None, so neither side can delete it; the warning says so and names the prefix
    warnings = [r.getMessage() for r in caplog.records if r.name == "qsconform.compare"]
    assert any("registered with no UserName" in w and "qsconform sweep --prefix qsc-" in w for w in warnings)


def test_a_live_target_never_gets_a_user_touched_that_the_replay_did_not_create(tmp_path):
    path = tmp_path / "c.json"
    with FaithfulServer() as server, open_server_target(server) as target, Transport(target, SPEC) as transport:
        cassette = Cassette.recording(path, target=target, prefix=PREFIX)
        transport.observers.append(cassette.observe)
        transport.send(update("alice"))  # a name outside the run's prefix
        transport.send(register(PREFIX + "carol"))
        transport.send(update(PREFIX + "carol"))
        cassette.save()
    with FaithfulServer() as server, open_server_target(server) as target, Transport(target, SPEC) as transport:
        report = replay(load_cassette(path), transport, dataclasses.replace(target, live=True))
        assert server.requests == 4  # two replayed, one cleanup DeleteUser, one ListUsers to see it is gone
    assert [o.status for o in report.outcomes] == ["skipped", "compared", "compared"]
    assert "did not create" in report.outcomes[0].why


# -- live comparison --------------------------------------------------------------------------

def test_drawing_is_deterministic():
    config = StrategyConfig(user_prefix="qsc-draw1234-")
    rules = ["UpdateUser.valid", "UpdateUser.Role.enum"]
    one = draw_requests(default_spec(), config, seed=7, per_rule=2, rules=rules)
    two = draw_requests(default_spec(), config, seed=7, per_rule=2, rules=rules)
    assert [r.describe() for r in one] == [r.describe() for r in two] and len(one) == 4
    assert {r.expected.rule_id for r in one} == {None, "UpdateUser.Role.enum"}


def test_live_compare_of_moto_with_a_faithful_server(moto):
    with FaithfulServer() as server, open_server_target(server) as reference, \
            Transport(reference, SPEC) as t_ref, Transport(moto, SPEC) as t_moto:
        # QUICKSIGHT identities only: moto registers an IAM identity without a UserName (see below)
        config = StrategyConfig(account_id=reference.account_id, user_prefix="qsc-draw1234-",
                                synthetic_iam_arns=False)
        requests = draw_requests(default_spec(), config, seed=3, per_rule=2,
                                 rules=["RegisterUser.valid", "UpdateUser.valid", "UpdateUser.Role.enum"])
        report = live(requests, t_moto, t_ref, drawn_with=config)
        assert server.names() == []
        # moto cannot route a DeleteUser of a name with '/' (werkzeug decodes %2F): such users are reported
        assert sorted(moto_users(moto)) == sorted(report.left_behind.get(report.target, []))
    assert report.exit_code == 1 and report.mode == "live"
    # each UpdateUser had its user registered first, on both sides, under distinct names
    registered = set()
    for o in report.outcomes:
        if o.operation == "RegisterUser":
            registered.add(o.request["body"].get("UserName"))
        elif o.operation == "UpdateUser":
            assert o.request["path_params"]["UserName"] in registered
    assert [o.operation for o in report.outcomes].count("UpdateUser") == 4
    valid_updates = [o for o in report.outcomes if o.rule_id is None and o.operation == "UpdateUser"]
    assert all(o.reference_status == 200 for o in valid_updates)
    assert ("content_type", "$content_type") in kinds(report, "UpdateUser")
    assert ("error_type", "$error_type") in kinds(report, "UpdateUser.Role.enum")  # moto accepts an unknown role
    assert ("status", "$status") in kinds(report, "RegisterUser")


def test_a_user_that_cannot_be_deleted_is_reported(moto, caplog):
    config = StrategyConfig(account_id=moto.account_id, user_prefix="qsc-draw1234-")
    iam = Request("RegisterUser", {"AwsAccountId": moto.account_id, "Namespace": "default"},
                  {"Email": "a@example.com", "IdentityType": "IAM", "UserRole": "READER",
                   "IamArn": f"arn:aws:iam::{moto.account_id}:user/qsc-draw1234-iam"}, Expected("success"))
    with FaithfulServer() as server, open_server_target(server) as reference, \
            Transport(reference, SPEC) as t_ref, Transport(moto, SPEC) as t_moto:
        report = live([iam], t_moto, t_ref, drawn_with=config)
        assert server.names() == []  # the faithful server named the user after the IAM user, and it was deleted
    assert ("type", "User.UserName") in kinds(report, "RegisterUser")  # moto answers "UserName": null
    assert report.left_behind == {report.target: ["1 user(s) registered with no UserName in the answer or the request"]}
    assert "left behind on target moto" in report.summary()
    assert f"qsconform sweep --prefix {report.prefixes[report.target]}" in report.summary()
    assert not [r for r in caplog.records if r.name == "qsconform.compare"]  # the report says it: no warning


def test_only_an_answer_that_leaves_no_user_counts_as_a_deletion():
    """Before a registration, a user the run or the live comparison holds is deleted (conformance/engine/preparation.py,
    shared by both); only a success or ResourceNotFoundException lets the registration go ahead, not a bare 404
    page (users.gone)."""
    from types import SimpleNamespace

    from qsconform.conformance.engine.ledger import UserLedger
    from qsconform.conformance.engine.preparation import NotPrepared, Preparation

    name = "qsc-draw1234-a"
    registration = Request("RegisterUser", {"AwsAccountId": "123456789012", "Namespace": "default"},
                           {"Email": "a@example.com", "IdentityType": "QUICKSIGHT", "UserRole": "READER",
                            "UserName": name}, Expected("success"))
    for status, error_type, still_there in ((200, None, False), (404, "ResourceNotFoundException", False),
                                            (404, None, True), (500, "InternalFailure", True)):
        present = UserLedger("qsc-draw1234-")
        present.record(name)
        deleted = []
        answer = SimpleNamespace(status=status, error_type=error_type)
        preparation = Preparation(default_spec(), present, send=None, labels=lambda op, **extra: extra,
                                  call=lambda op, labels: deleted.append((op, labels["UserName"])) or answer)
        if still_there:
            with pytest.raises(NotPrepared):
                preparation.prepare(registration)
        else:
            preparation.prepare(registration)
        assert deleted == [("DeleteUser", name)] and present.holds(name) == still_there, (status, error_type)


def test_live_compare_of_a_server_with_itself_finds_nothing():
    with FaithfulServer() as a, FaithfulServer(account_id="444455556666", region="ap-south-1") as b, \
            open_server_target(a) as ta, open_server_target(b) as tb, Transport(ta, SPEC) as t_a, Transport(tb, SPEC) as t_b:
        config = StrategyConfig(account_id=ta.account_id, user_prefix="qsc-draw1234-")
        requests = draw_requests(default_spec(), config, seed=3, per_rule=1,
                                 rules=["RegisterUser.valid", "UpdateUser.valid"])
        report = live(requests, t_b, t_a, drawn_with=config)
        assert a.names() == b.names() == []
    assert report.exit_code == 0, report.summary()


# -- the command ------------------------------------------------------------------------------

def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("qsconform compare: error: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, words", [
    ([], "exactly one of --recording"),
    (["--recording", "a.json", "--against", "moto"], "exactly one of --recording"),
    (["--recording", "missing.json"], "not found"),
    (["--recording", "x", "--seed", "many"], "invalid int value"),
])
def test_bad_usage_exits_2_with_one_line(capsys, argv, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert words in one_line_error(capsys)


def test_a_malformed_cassette_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "interactions": [1]}')
    assert main(["--recording", str(bad)]) == 2
    assert "is malformed: interactions[0]: must be object, not integer" in one_line_error(capsys)


def test_a_malformed_allowance_file_exits_2(capsys, tmp_path, cassette_path):
    allow = tmp_path / "allow.json"
    allow.write_text('[{"path": "User.Active"}]')
    assert main(["--recording", str(cassette_path), "--allow", str(allow)]) == 2
    assert "needs a reason" in one_line_error(capsys)
    with pytest.raises(CompareError):
        load_allowances(allow)


def test_a_live_target_needs_live(capsys, cassette_path):
    assert main(["--target", "http://192.0.2.10:9", "--recording", str(cassette_path)]) == 2
    assert "--live" in one_line_error(capsys)


def test_an_unreachable_target_exits_3(capsys, cassette_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["--target", f"http://127.0.0.1:{port}", "--recording", str(cassette_path)]) == 3
    assert "unreachable" in one_line_error(capsys)


def test_the_command_replays_and_reports(capsys, cassette_path, tmp_path):
    with FaithfulServer() as server:
        code = main(["--target", server.url, "--region", server.region, "--account-id", server.account_id,
                     "--recording", str(cassette_path), "--report-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("SAME: no difference") and any(line.startswith("Reports:") for line in out[-4:])
    assert (tmp_path / "compare.html").exists()
    assert json.loads((tmp_path / "compare.json").read_text())["exit_code"] == 0


def test_the_command_compares_live(capsys, moto, tmp_path):
    # the reference is a URL target on loopback: it gets the default account id, which this server serves
    with FaithfulServer(account_id=moto.account_id, region=moto.region) as server:
        code = main(["--target", moto.endpoint, "--against", server.url, "--region", server.region, "--seed", "3",
                     "--rule", "UpdateUser.valid", "--per-rule", "1", "--report-dir", str(tmp_path)])
        assert server.names() == []
    assert code == 1
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["mode"] == "live" and report["reference"].startswith(f"target {server.url}")
    assert [i["operation"] for i in report["interactions"]] == ["RegisterUser", "UpdateUser"]
    assert "drawing 1 request(s) per rule with seed 3" in capsys.readouterr().err


@pytest.mark.e2e
def test_compare_reads_like_run_against_moto(tmp_path):
    """A quick-profile recording of the reference server replayed against moto: the rules grouped by what their
    answers differ in first, under 80 lines of at most 80 characters, the report paths and the verdict last, the
    detail in compare.json and compare.html, and no users left behind named for the moto it started itself."""
    import os
    import subprocess
    import sys

    from test_render_html import Page

    cassette = tmp_path / "quick.cassette.json"
    recorded = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference",
                               "--profile", "quick", "--seed", "3", "--record", str(cassette), "--report-dir",
                               str(tmp_path / "run")], capture_output=True, text=True, timeout=600)
    assert recorded.returncode == 0, recorded.stdout[-2000:]
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "compare", "--target", "moto",
                           "--recording", str(cassette), "--report-dir", str(tmp_path / "cmp")],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.rstrip("\n").splitlines()
    assert len(lines) < 80 and max(len(line) for line in lines) <= 80, done.stdout
    assert lines[-1].startswith("DIFFERENT: ") and any(line.startswith("Reports:") for line in lines[-5:])
    assert "left behind" not in done.stdout and done.stderr.strip() == ""
    document = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    page = Page((tmp_path / "cmp" / "compare.html").read_text())
    assert page.errors == [] and page.all("script") == []
    differing = [name for name, group in document["groups"].items() if group["differences"]]
    rows = {a["id"] for a in page.all("tr") if a.get("id")}
    assert {f"rule-{name}" for name in differing} <= rows  # every group, every difference, on the page
    assert "answers 200, recorded 400" in done.stdout  # the grouping of run: by what differs, not one per line


def test_a_cassette_naming_an_undefined_user_is_refused(tmp_path, cassette_path):
    document = json.loads(cassette_path.read_text())
    del document["users"]["{user-2}"]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CassetteError, match=r"\{user-2\} is not in the users table"):
        load_cassette(path)
