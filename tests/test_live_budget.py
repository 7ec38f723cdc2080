"""A live run within a user budget (conformance/engine/budget.py, docs/live.md): every rule a loopback run judges, at most
--max-users registrations counted on the server's side, READER but for the rules about the role; the cap never an
error; probe, record and compare within the same budget, each saying what the server registered.

The runs go through the live path (`--target aws --live`, AWS_ENDPOINT_URL_QUICKSIGHT at a reference server on
loopback), in-process where they can (tests/live_runs.py); what a command prints is read from its output.
"""
from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections import Counter

import pytest

from live_runs import ACCOUNT, PREFIX, SPEC, LiveJob, counted, judge_live, live_environment
from qsconform.conformance.engine import budget
from qsconform.conformance.reference import start_reference
from qsconform.conformance.tools import exits
from qsconform.strategies import StrategyConfig
from qsconform.strategies.boundaries import role_examples
from qsconform.strategies.context import context_for
from qsconform.strategies.packing import departures, pack
from reference_runs import Job, judge_run

pytestmark = pytest.mark.e2e

CHEAPEST = "READER"
LIVE = budget.live_config(SPEC, StrategyConfig(account_id=ACCOUNT, user_prefix=PREFIX,
                                               synthetic_iam_arns=False, live_safe=True))


@pytest.fixture(scope="module")
def loopback():
    """What a loopback quick run judges (the reference target, every rule the suite sends)."""
    outcome = judge_run(Job("loopback quick", seed=5))
    assert outcome.errors == {}
    return {rid for rid, status in outcome.statuses.items() if status in ("passed", "failed", "advisory")}


@pytest.fixture(scope="module")
def quick_runs():
    """Live quick runs by seed, each made once in a process (the default profile's test compares with one)."""
    runs: dict[int, object] = {}

    def run(seed: int):
        if seed not in runs:
            runs[seed] = judge_live(LiveJob(seed=seed))
        return runs[seed]
    return run


def role_values() -> Counter:
    """One registration per role value the live run does not give every user: what the role rules need."""
    return Counter(r.params()["UserRole"] for r in role_examples("RegisterUser", LIVE, spec=SPEC))


def assert_within_budget(outcome, max_users: int = 20) -> None:
    assert outcome.errors == {}, outcome.errors
    assert len(outcome.registered) <= max_users, outcome.registered
    assert outcome.cost["users_registered"] == len(outcome.registered)  # what the run says is what the server did
    assert outcome.left == []  # and it deleted them all
    others = outcome.roles - Counter({CHEAPEST: outcome.roles[CHEAPEST]})
    assert others == role_values(), outcome.registered  # READER, but one user per role value
    assert [(before, after) for _, before, after in outcome.role_changes] == [(CHEAPEST, outcome.plan.role_change)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_live_quick_run_judges_every_rule_a_loopback_run_judges_with_at_most_twenty_users(loopback, quick_runs, seed):
    outcome = quick_runs(seed)
    assert outcome.exit_code == exits.OK
    assert_within_budget(outcome)
    iam = {rid for rid, message in outcome.messages.items() if message == budget.IAM_WHY}
    assert iam == set(budget.identity_skips(SPEC, LIVE, SPEC.rules))
    assert {rid: outcome.statuses[rid] for rid in iam} == dict.fromkeys(iam, "skipped")
    assert outcome.judged() >= loopback - iam
    assert len(outcome.judged()) >= len(loopback) - len(iam) > 100


def test_the_default_profile_costs_no_more_users_and_judges_the_same_rules_with_more_examples(quick_runs):
    quick, default = quick_runs(1), judge_live(LiveJob(seed=1, profile="default"))
    assert default.exit_code == exits.OK
    assert_within_budget(default)
    assert default.judged() == quick.judged()
    assert sum(default.examples.values()) > 2 * sum(quick.examples.values())
    assert default.cost["requests_sent"] > 2 * quick.cost["requests_sent"]


def test_more_users_buy_more_random_examples_never_other_rules():
    rules = ("RegisterUser.response.echo", "UpdateUser.lifecycle.update-persists", "RegisterUser.Email.required")
    few, many = (judge_live(LiveJob(seed=6, rules=rules, max_users=n)) for n in (20, 60))
    assert few.judged() == many.judged() >= set(rules)  # (the lifecycle machine meets the other lifecycle rules)
    assert len(few.registered) <= 20 < len(many.registered) <= 60
    assert many.cost["examples_held_back"] < few.cost["examples_held_back"]


# -- the cap never an error: the exit code agrees with the summary, whatever the cap ----------------

LIFECYCLE = [r.id for r in SPEC.rules if r.kind == "lifecycle"]
# Faults that make a live target register what it should refuse, or break a lifecycle rule; never two that change
# how the store keeps users at once (duplicate-accepted keeps a registration as an overwrite, update-not-persisted
# keeps no overwrite: together, no registration is kept).
FAULTS = {"duplicate-accepted": ("RegisterUser.lifecycle.duplicate-refused",),
          "update-not-persisted": ("UpdateUser.lifecycle.update-persists",),
          "register-email-required-unchecked": ("RegisterUser.Email.required",),
          "email-type-unchecked": ("RegisterUser.Email.type", "UpdateUser.Email.type"),
          "register-role-enum-unchecked": ("RegisterUser.UserRole.enum",),
          "content-type-html": ("RegisterUser.response.content-type",)}
OTHERS = [r.id for r in SPEC.rules if r.sent and r.kind != "lifecycle"]


def random_runs(count: int = 24) -> list[LiveJob]:
    """Runs of a few rules each (lifecycle rules among them), with a random cap and faults that break some."""
    rnd = random.Random(24)
    jobs = []
    for _ in range(count):
        faults = rnd.sample(sorted(FAULTS), rnd.randint(0, 2))
        if {"duplicate-accepted", "update-not-persisted"} <= set(faults):
            faults.remove("update-not-persisted")
        broken = [rid for fault in faults for rid in FAULTS[fault]]
        rules = set(rnd.sample(LIFECYCLE, rnd.randint(1, 2))) | set(rnd.sample(OTHERS, 2)) \
            | set(rnd.sample(broken, min(len(broken), 2)))
        jobs.append(LiveJob(seed=rnd.randrange(2**32), max_users=rnd.randint(0, 22), rules=tuple(sorted(rules)),
                            faults=tuple(faults), concurrency=rnd.choice([1, 2])))
    return jobs


@pytest.mark.parametrize("job", random_runs(), ids=lambda job: f"cap{job.max_users}-{'+'.join(job.faults) or 'faithful'}")
def test_whatever_the_cap_the_exit_code_agrees_with_the_summary(job):
    outcome = judge_live(job)
    assert outcome.errors == {}, outcome.errors  # no rule ends in an error (as FlakyStrategyDefinition did)
    failed = outcome.summary["total"]["failed"]
    assert outcome.exit_code == (exits.FAILED if failed else exits.OK), (outcome.statuses, outcome.messages)
    assert len(outcome.registered) <= job.max_users and outcome.left == []
    assert outcome.cost["users_registered"] == len(outcome.registered)
    for rule_id in job.rules:  # every rule of the run ends with a status, and a skipped one says why
        assert outcome.statuses[rule_id] != "deselected", rule_id
        if outcome.statuses[rule_id] == "skipped":
            assert "--max-users" in outcome.messages[rule_id] or outcome.messages[rule_id] == budget.IAM_WHY


# -- the plan ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("max_users", [0, 1, 2, 5, 12, 17, 20, 50])
def test_the_plan_keeps_within_the_cap_and_says_why_it_skips(max_users):
    plan = budget.plan_run(SPEC, LIVE, SPEC.rules, live=True, max_users=max_users, random_examples=3, programs=8)
    assert plan.planned() + plan.spare <= max_users
    assert all(why for why in plan.skipped.values())
    assert set(plan.prepared) <= {r.params().get("UserName") for r in plan.registrations}
    if max_users >= 20:  # every rule a live quick run judges, within the default budget
        assert set(plan.skipped) == set(budget.identity_skips(SPEC, LIVE, SPEC.rules))
        assert plan.prepared and plan.spare >= 1 and plan.role_change == "READER_PRO"


def test_boundary_examples_pack_into_one_registration_per_identity_name_and_role_class():
    ctx = context_for("RegisterUser", LIVE, SPEC)
    packed, _ = budget.registrations_packed(SPEC, LIVE)
    base = ctx.classify(packed[0].request.params())
    assert base.valid and packed[0].opened_by == ""
    names = [p.request.params().get("UserName") for p in packed]
    assert len(names) == len(set(names))  # each a user of its own
    simplest = ctx.valid_space("UserName").simplest()
    assert simplest not in names  # invalid registrations name that one: none of these is deleted for them
    for p in packed:
        verdict = ctx.classify(p.request.params())
        assert verdict.valid and verdict.level == p.request.expected.level
        for example in p.examples:  # each example's departures ride on its packed request
            for member, value in departures(ctx_simplest(ctx), example.params()).items():
                if member != "UserName" or value != simplest:
                    assert p.request.params().get(member, value) == value, (member, p.request.notes)
    opened = Counter(p.opened_by for p in packed)
    assert opened["UserRole"] == len(role_values())
    assert {p.request.params()["UserRole"] for p in packed if p.opened_by != "UserRole"} == {CHEAPEST}


def ctx_simplest(ctx):
    from qsconform.strategies.pick import SimplestPicker
    from qsconform.strategies.valid import build_params

    return build_params(ctx, SimplestPicker())


def test_packing_keeps_apart_what_must_not_share_a_request():
    ctx = context_for("RegisterUser", LIVE, SPEC)
    simplest = budget.registrations_packed(SPEC, LIVE)[0][0].examples[0]
    name = next(p.examples[0] for p in budget.registrations_packed(SPEC, LIVE)[0] if p.opened_by == "UserName")
    role = role_examples("RegisterUser", LIVE, spec=SPEC)[0]
    together, left = pack(ctx, [simplest, name, role])
    assert len(together) == 1 and left == [] and list(together[0].examples) == [simplest, name, role]
    apart, left = pack(ctx, [simplest, name, role], apart=[frozenset({"UserName", "UserRole"})])
    assert len(apart) == 1 and left == [role]


# -- what a dry run says, sending nothing ----------------------------------------------------------

def test_run_dry_run_prints_the_plan_and_sends_nothing(capsys):
    from qsconform.conformance.tools.cli import main

    # An endpoint where nothing listens: a dry run that sent anything would end unreachable (exit 3).
    with live_environment("http://127.0.0.1:1"):
        code = main(["run", "--target", "aws", "--live", "--region", "us-east-1", "--account-id", ACCOUNT,
                     "--profile", "quick", "--dry-run"])
    out = capsys.readouterr().out
    assert code == exits.OK, out
    planned = int(re.search(r"registrations: (\d+) planned \(READER \d+, ", out).group(1))
    assert planned <= 20 and "never more than --max-users 20" in out
    assert re.search(r"requests \(estimated\): DeleteUser \d+, DescribeUser \d+, RegisterUser \d+, UpdateUser \d+", out)
    assert "skipped: RegisterUser.response.iam-user-name: needs an IAM identity" in out
    assert re.search(r"estimated duration: about \d+ (s|min) at", out)
    assert "one update changes a role (to READER_PRO)" in out


# -- probe, record, compare: within the budget, and saying what the server registered -------------

def _registered_in(output: str, what: str) -> int:
    return int(re.search(rf"registered (\d+) {what}", output).group(1))


def test_a_live_probe_registers_within_max_users_and_says_how_many(capsys, tmp_path):
    from qsconform.conformance.tools.cli import main

    with start_reference(unknown_fate="accept") as server, live_environment(server.url), \
            counted(server) as (registered, _):
        code = main(["probe", "--target", "aws", "--live", "--region", "us-east-1", "--account-id", ACCOUNT,
                     "--max-users", "6", "--record", str(tmp_path / "probe.json")])
        left = server.store.names(ACCOUNT)
    out = capsys.readouterr().out
    assert code == exits.OK, out
    assert 1 < len(registered) <= 6 and left == []  # the target accepts what it probes: the shares are spent
    assert _registered_in(out, "users") == len(registered)
    assert "its share of --max-users" in out


def test_a_live_compare_registers_within_max_users_and_says_how_many(capsys):
    from qsconform.conformance.compare import main

    with start_reference() as server, live_environment(server.url), counted(server) as (registered, _):
        code = main(["--target", "aws", "--live", "--region", "us-east-1", "--account-id", ACCOUNT,
                     "--against", "reference", "--seed", "5", "--per-rule", "1", "--max-users", "2"])
        left = server.store.names(ACCOUNT)
    out = capsys.readouterr().out
    assert code == exits.OK, out
    assert len(registered) <= 2 and left == []
    assert {name for name, _ in registered} and {role for _, role in registered} == {CHEAPEST}
    target_line = next(line for line in out.splitlines() if "registered" in line and "target aws" in line)
    assert _registered_in(target_line, r"user\(s\)") == len(registered)
    assert "held back" in out or "beyond --max-users 2" in json.dumps(out)


def test_a_live_recording_run_registers_within_max_users_and_says_how_many(tmp_path):
    import os

    rules = ["RegisterUser.response.echo", "UpdateUser.lifecycle.update-persists", "UpdateUser.Email.required",
             "RegisterUser.Email.required"]
    with start_reference() as server, live_environment(server.url), counted(server) as (registered, _):
        env = dict(os.environ)
        result = subprocess.run(
            [sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "aws", "--live", "--region",
             "us-east-1", "--account-id", ACCOUNT, "--profile", "quick", "--record", str(tmp_path / "live.json"),
             "--report-dir", str(tmp_path / "report"), *[a for r in rules for a in ("--rule", r)]],
            env=env, capture_output=True, text=True, timeout=300)
        left = server.store.names(ACCOUNT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 0 < len(registered) <= 20 and left == []
    assert int(re.search(r"cost: (\d+) user\(s\) registered \(", result.stdout).group(1)) == len(registered)
    cost = json.loads((tmp_path / "report" / "compliance.json").read_text())["cost"]
    assert cost["users_registered"] == len(registered) and cost["max_users"] == 20
    assert cost["users_registered_by_role"] == dict(Counter(role for _, role in registered))
    cassette = json.loads((tmp_path / "live.json").read_text())
    assert sum(i["operation"] == "RegisterUser" for i in cassette["interactions"]) >= len(registered)
