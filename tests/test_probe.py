"""Probe, observe, judge: the loop that turns a recording of a target into what the suite expects.

The reference server plays a real API whose answers no source gives (variant option unknown_fate:
refuse, refuse-validation, accept). A probe of one setting, observed, must make the suite pass that
setting and fail the others on exactly the rules probed; the probe must keep a live run's promises.
"""
import json

import pytest
import requests

from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.engine.session import RunSession
from qsconform.conformance.tools.observe import observe
from qsconform.conformance.tools.probe import plan, probe, probed_rules
from qsconform.spec.evidence import problems
from qsconform.spec.loader import probing_spec
from qsconform.spec.loader import default_spec, load_spec
from qsconform.spec.observations import APPLIES, CONTRADICTS, validate_document
from qsconform.strategies import StrategyConfig
from qsconform.strategies.context import context_for
from test_live_path import (ACCOUNT, CANARY_KEY, CANARY_SECRET, PRE_EXISTING, env, interrupted_once_users_exist,  # noqa: F401
                            own_names, qsconform, server)

# One worker of the test command runs them all: the recordings they share (a module fixture) are made once.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("probe")]

SPEC = default_spec()
SETTINGS = ("refuse", "accept")


def probe_reference(tmp_path, setting: str):
    """Probe a reference server playing `setting`; the cassette and its observations file."""
    config = RunConfig(target="reference", prefix=f"qsc-pr{setting[:3]}-")
    cassette = tmp_path / f"probe-{setting}.json"
    result = probe(config, SPEC, cassette, server_options={"unknown_fate": setting})
    assert result.left_behind == [] and result.sent > 0
    document = observe([cassette], SPEC)
    observations = tmp_path / f"observations-{setting}.json"
    observations.write_text(json.dumps(document))
    return cassette, observations, result


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    directory = tmp_path_factory.mktemp("probes")
    return {setting: probe_reference(directory, setting) for setting in SETTINGS}


def judge(spec, rule_ids, setting: str, seed: int = 5) -> dict[str, str]:
    """The statuses of some rules in a quick run against a reference server playing `setting`."""
    config = RunConfig(target="reference", profile="quick", seed=seed, prefix="qsc-judge0-")
    with RunSession(config, spec, server_options={"unknown_fate": setting}) as run:
        for rule_id in rule_ids:
            run.check_rule(spec.rule(rule_id))
    return {rule_id: run.results.rules[rule_id].status for rule_id in rule_ids}


def applied(spec) -> list[str]:
    return sorted(e.rule_id for e in spec.observations if e.kind == APPLIES)


@pytest.mark.parametrize("probed", SETTINGS)
def test_observations_of_one_setting_pass_it_and_fail_the_other(recordings, probed):
    _, observations, _ = recordings[probed]
    spec = load_spec(observations=[observations])
    rules = applied(spec)
    assert rules, "the probe settled no rule"
    for rule_id in rules:  # each settled rule is now judged, on the strength of the recording
        rule = spec.rule(rule_id)
        assert rule.level in ("MUST", "OBSERVED") and any("recording" in e for e in rule.evidence), rule_id
        assert not SPEC.rule(rule_id).sent or SPEC.rule(rule_id).send_as_valid
    assert problems(spec) == []  # each recording the spec cites is one it loaded, with that rule
    judged = [r for r in rules if spec.rule(r).sent]  # sent as broken, expecting the recorded answer
    assert all(status == "passed" for status in judge(spec, judged, probed).values())
    other = next(s for s in SETTINGS if s != probed)
    differ = [r for r in judged if _answer(recordings[probed], r) != _answer(recordings[other], r)]
    assert differ, "the two settings answered alike"
    statuses = judge(spec, judged, other)
    assert {r: statuses[r] for r in differ} == {r: "failed" for r in differ}
    assert all(statuses[r] == "passed" for r in judged if r not in differ)


def _answer(recording, rule_id):
    document = json.loads(recording[1].read_text())
    return next((o["answer"] for o in document["observations"] if o["rule_id"] == rule_id), None)


def test_another_error_type_fails_the_rules_recorded_refused(recordings):
    spec = load_spec(observations=[recordings["refuse"][1]])
    judged = [r for r in applied(spec) if spec.rule(r).sent]
    statuses = judge(spec, judged, "refuse-validation")
    assert set(statuses.values()) == {"failed"}, statuses


def test_an_observation_never_overrides_a_must_rule(recordings):
    # The reference server accepts any custom permissions profile name: a recording of it contradicts the
    # page (MUST: the profile must exist). Shown loudly, not applied.
    spec = load_spec(observations=[recordings["accept"][1]])
    loud = {e.rule_id: e for e in spec.observations if e.kind == CONTRADICTS}
    assert "RegisterUser.custom-permissions-must-exist" in loud and "RegisterUser.restricted-roles-unavailable" in loud
    for rule_id in loud:
        assert spec.rule(rule_id).level == SPEC.rule(rule_id).level
        assert spec.rule(rule_id).sent == SPEC.rule(rule_id).sent
    result = qsconform(None, "observations", str(recordings["accept"][1]))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("CONTRADICTS") and "not applied" in lines[0]


def test_cassettes_that_disagree_settle_nothing(recordings, tmp_path):
    document = observe([recordings["refuse"][0], recordings["accept"][0]], SPEC)
    assert validate_document(document) == []
    unsettled = {u["rule_id"] for u in document["unsettled"]}
    assert "RegisterUser.tag-keys-unique" in unsettled
    assert "RegisterUser.tag-keys-unique" not in {o["rule_id"] for o in document["observations"]}
    both = tmp_path / "both.json"
    both.write_text(json.dumps(document))
    assert load_spec(observations=[both]).rule("RegisterUser.tag-keys-unique").sent is False


def test_observe_writes_what_the_schema_describes(recordings):
    for _, observations, _ in recordings.values():
        document = json.loads(observations.read_text())
        assert validate_document(document) == []
        digest = document["cassettes"][0]["digest"]
        assert all(o["cassettes"] == [digest] and o["exchanges"] >= 1 for o in document["observations"])
        assert document["cassettes"][0]["region"] == "us-east-1" and document["cassettes"][0]["recorded_at"]


def test_a_probe_sends_the_same_requests_every_time_each_breaking_its_rule_alone():
    config = StrategyConfig()
    first, second = plan(SPEC, config), plan(SPEC, config)
    assert [(p.rule.id, [r.body_bytes() for r in p.requests]) for p in first.probes] == \
           [(p.rule.id, [r.body_bytes() for r in p.requests]) for p in second.probes]
    probing = probing_spec(SPEC, [r.id for r in probed_rules(SPEC) if not r.sent])
    for item in first.probes:
        assert 1 <= len(item.requests) <= 6
        oracle = context_for(item.rule.operation, config, probing).oracle
        for request in item.requests:
            verdict = oracle.classify(request.params(), raw_body=request.raw_body)
            assert verdict.kind == "invalid" and verdict.broken == {item.rule.id, *item.rule.co_broken}, item.rule.id
    not_probed = {n.rule_id: n.why for n in first.not_probed}
    assert "another account" in not_probed["RegisterUser.account-is-callers"]
    assert "Identity Center" in not_probed["RegisterUser.identity-center-unverified"]
    assert {p.rule.id for p in first.probes} | set(not_probed) == {r.id for r in probed_rules(SPEC)}


# -- do no harm: a probe of a live account, through the SDK's endpoint setting --------------------

def live_probe(*extra):
    return ("probe", "--target", "aws", "--live", "--region", "us-east-1", "--account-id", ACCOUNT, *extra)


def test_a_live_probe_creates_at_most_max_users_and_deletes_them_all(server, env, tmp_path):
    cassette = tmp_path / "live.json"
    result = qsconform(env, *live_probe("--max-users", "3", "--record", str(cassette)))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    registered = own_names(server.ledger, "qsc-")
    assert 0 < len(registered) <= 3, registered
    assert server.store.names(ACCOUNT) == [PRE_EXISTING]
    assert PRE_EXISTING not in {name for _, name in server.ledger}
    # What it says it registered is what the server registered (a name registered twice counts twice).
    assert f"registered {len(registered)} users" in result.stdout
    document = observe([cassette], SPEC)
    text = cassette.read_text() + json.dumps(document) + output
    assert CANARY_KEY not in text and CANARY_SECRET not in text
    assert ACCOUNT not in cassette.read_text()  # the account is tokenised


def test_a_dry_run_sends_nothing(server, env):
    result = qsconform(env, *live_probe("--dry-run"))
    assert result.returncode == 0, result.stderr
    assert server.ledger == [] and "would send" in result.stdout and "register" in result.stdout


def test_an_interrupted_probe_deletes_what_it_created(server, env, tmp_path):
    proc = qsconform(env, *live_probe("--max-users", "50", "--record", str(tmp_path / "c.json")), popen=True)
    output = interrupted_once_users_exist(server, proc)
    assert server.store.names(ACCOUNT) == [PRE_EXISTING], output[-3000:]


def test_moto_against_a_recording(recordings, tmp_path):
    """What an emulator author sees: the rules the probe settled, judged against moto."""
    spec = load_spec(observations=[recordings["refuse"][1]])
    judged = [r for r in applied(spec) if spec.rule(r).sent]
    config = RunConfig(target="moto", profile="quick", seed=5, prefix="qsc-moto0-")
    with RunSession(config, spec) as run:
        for rule_id in judged:
            run.check_rule(spec.rule(rule_id))
        # moto's state is process-wide, and it keeps IAM users under a name no DeleteUser can address:
        # later tests start their own moto and expect it empty.
        requests.post(f"{run.target.endpoint}/moto-api/reset", timeout=5)
    statuses = {r: run.results.rules[r].status for r in judged}
    assert set(statuses.values()) <= {"passed", "failed", "advisory"} and "failed" in statuses.values(), statuses


def test_bad_input_is_one_line_and_an_exit_code(tmp_path, capsys):
    """Decided before anything is sent: in-process (an exception would fail the test, as a traceback would)."""
    from qsconform.conformance.tools.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "qsconform-observations/1"}')
    for args, code in ((("probe", "--target", "http://127.0.0.1:1", "--record", str(tmp_path / "c.json")), 3),
                       (("probe", "--target", "reference"), 2),
                       (("observe", str(tmp_path / "missing.json"), "--output", str(tmp_path / "o.json")), 2),
                       (("observations", str(bad)), 2),
                       (("run", "--target", "reference", "--observations", str(bad)), 2)):
        assert main(list(args)) == code, (args, capsys.readouterr())
        stderr = capsys.readouterr().err
        assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("qsconform: "), stderr


def test_an_observation_that_names_no_rule_or_that_files_dispute_settles_nothing(tmp_path):
    digest = "sha256:" + "0" * 64

    def written(name, rule_id, status, error_type):
        path = tmp_path / name
        path.write_text(json.dumps({"format": "qsconform-observations/1", "unsettled": [],
                                    "cassettes": [{"digest": digest, "file": "c.json", "recorded_from": "aws"}],
                                    "observations": [{"rule_id": rule_id, "exchanges": 2, "cassettes": [digest],
                                                      "answer": {"status": status, "error_type": error_type}}]}))
        return path

    refused = written("a.json", "RegisterUser.tag-keys-unique", 400, "InvalidParameterValueException")
    accepted = written("b.json", "RegisterUser.tag-keys-unique", 201, None)
    stranger = written("c.json", "RegisterUser.no-such-rule", 400, "ValidationException")
    spec = load_spec(observations=[refused, accepted, stranger])
    effects = {e.rule_id: e for e in spec.observations}
    assert effects["RegisterUser.tag-keys-unique"].kind == "not applied"
    assert "disagree" in effects["RegisterUser.tag-keys-unique"].text
    assert effects["RegisterUser.no-such-rule"].kind == "not applied"
    assert spec.rule("RegisterUser.tag-keys-unique").sent is False
    assert load_spec(observations=[refused]).rule("RegisterUser.tag-keys-unique").sent is True
