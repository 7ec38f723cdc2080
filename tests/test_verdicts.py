"""The suite's verdicts, proved: a faithful server passes, each fault is caught, whatever the seed.

The reference target (conformance/reference) takes variants and faults:
- a faithful variant writes its answers in one of the ways the sources allow: the run exits 0
  with no failure and no advisory;
- a lenient variant makes a choice the sources leave open (accepts a SessionName for a QUICKSIGHT
  user, refuses external login details for one...): the run exits 0, and reports exactly the
  advisories the variant declares (`advises`), never a failure;
- a fault breaks rules (`breaks`): each MUST or OBSERVED one comes out failed and the run exits 1;
  a fault that breaks only SHOULD rules comes out as their advisories, and the run exits 0.
Every fault, with the first seed and the quick profile as a run has it; and whatever the seed: by the boundary
examples alone (which the seed does not change, tests/test_boundary_proof.py proves it, and which a run judges
before any random example), or, for a fault they miss, with each of the other seeds, with the quick profile's
examples but no shrinking (tests/reference_runs.py, UNSHRUNK: the verdict is the one the first deviating example
gives, so whether the seed catches the fault is the same question, for less time).
Each run is one test, judged in-process (tests/reference_runs.py: the session `qsconform run` opens, without
an interpreter and a pytest session per run); the test command's workers share them out with the other tests,
the longest first (tests/conftest.py). The faithful server with one seed goes through the command line. The
mutation score (faults caught with any seed / faults injected) is printed at the end of the session
(conftest.py); a fault missed with any seed fails its test.
"""
import json
from dataclasses import replace
import subprocess
import sys

import pytest

from qsconform.conformance.reference import FAULTS, VARIANTS
from qsconform.spec.loader import default_spec
from reference_runs import UNSHRUNK, Job, chosen, judge_run

pytestmark = pytest.mark.e2e

SPEC = default_spec()
SEEDS = (5, 6, 7)

# A variant of one option changes how some answers are written, or which requests are accepted: the rules
# that send or read those are enough to prove that option alone. The whole suite runs with the options
# together: the faithful ones in all-at-once, the lenient ones in LENIENT_AT_ONCE (where the advisories must
# be exactly those its variants declare, all of them). The faithful and transient-unavailable variants, and
# the lenient one that cannot be combined (LENIENT_APART), run the whole suite alone.
CROSS_FIELD = "requires or forbids or needs or must-exist or arn-format"  # the cross-field rules' ids
EXISTENCE = "AwsAccountId or Namespace or must-exist or error"
VARIANT_RULES = {
    # faithful
    "status-in-body": "response", "extra-members": "response or error",
    "deserialisation-validation-exception": "type or protocol or response",
    "validation-exception": "enum or pattern or required or max_length or iam-requires",
    "error-header-suffix": "enum or required or lifecycle or error",
    "error-header-prefix": "enum or required or lifecycle or error",
    "error-in-body": "enum or required or lifecycle or error",
    "error-only-in-body": "enum or required or lifecycle or error or body-not-json",
    # answers no source gives: the suite sends no request breaking such a rule (they are not sent); the
    # cross-field rules it does send break their neighbours
    "unknown-fates-accepted": CROSS_FIELD, "unknown-fates-validation-exception": CROSS_FIELD,
    # lenient: the members the option accepts or refuses, or the answers it writes
    "session-name-without-iam-accepted": "sessionname",
    "any-iam-arn-accepted": "iam",
    "custom-oidc-url-optional": "url or oidc",
    "url-with-cognito-ignored": "url or cognito",
    "url-without-provider-type-ignored": "url or providertype or provider-type",
    "any-provider-type-accepted": "providertype or provider-type",
    "no-request-id-header": "response or error",
    "http-invitation-url": "RegisterUser.response",
    "update-answers-previous-user": "UpdateUser.response or lifecycle",
    "describe-lags-after-update": "lifecycle",
    # the account and namespace looked up first: the rules whose violations name neither, and the error shapes
    "existence-first-access-denied": EXISTENCE, "existence-first-access-denied-400": EXISTENCE,
    "existence-first-not-found": EXISTENCE,
    "update-without-principal-id": "UpdateUser.response or lifecycle",
    "deserialisation-bad-request": "type or protocol or response",
}
# Refusing external login members for an identity that is no role session also refuses the requests the other
# lenient options about those members would accept (their advisories would not show): it runs the suite alone.
LENIENT_APART = {"external-login-without-role-refused"}
FAITHFUL = next(v for v in VARIANTS if not v.options)
LENIENT = [v for v in VARIANTS if v.advises]
# The unknown fates played alongside: accepting them with the lenient options, refusing them with another error
# type with the faithful ones (the suite must send no request whose answer either would change).
UNKNOWN_FATES = {"lenient-at-once": "accept", "all-at-once": "refuse-validation"}


def lenient_at_once() -> tuple[dict, tuple[str, ...]]:
    """The options of every lenient variant but those apart, in one server, and the advisories they declare."""
    options, advises = {"unknown_fate": UNKNOWN_FATES["lenient-at-once"]}, []
    for variant in LENIENT:
        if variant.name not in LENIENT_APART:
            assert not set(variant.options) & set(options), variant.name
            options |= variant.options
            advises += variant.advises
    return options, tuple(dict.fromkeys(advises))


LENIENT_AT_ONCE = "lenient-at-once"
ADVISES = {v.name: v.advises for v in VARIANTS} | {LENIENT_AT_ONCE: lenient_at_once()[1]}


def words(select):
    return tuple(w.strip() for w in select.split(" or ")) if select else None


LEVELS = {r.id: r.level for r in SPEC.rules}


def variant_jobs() -> list[Job]:
    """Every variant but the plain faithful one (the seeds test judges it), with the first seed; and the lenient
    options at once."""
    jobs = []
    for variant in VARIANTS:
        if variant is FAITHFUL:
            continue
        options = dict(variant.options)
        if variant.name in UNKNOWN_FATES:
            options["unknown_fate"] = UNKNOWN_FATES[variant.name]
        jobs.append(Job(variant.name, options=tuple(options.items()), select=words(VARIANT_RULES.get(variant.name))))
    # Unshrunk: shrinking can only turn an advisory into a failure, and each advisory is shrunk in the run of its
    # own variant (the quick profile); this run is the one that shows no other rule changes with them all on.
    return jobs + [Job(LENIENT_AT_ONCE, profile=UNSHRUNK, options=tuple(lenient_at_once()[0].items()))]


EXISTENCE_FIRST = [v for v in VARIANTS if "existence_first" in v.options]


def existence_first_jobs() -> list[Job]:
    """The servers that decide existence before they validate members, with the other seeds too (the first is
    a variant job's)."""
    return [Job(f"{v.name}-{seed}", seed=seed, options=tuple(v.options.items()), select=words(EXISTENCE))
            for v in EXISTENCE_FIRST for seed in SEEDS[1:]]


def seed_jobs() -> list[Job]:
    """The faithful server with the default profile (the first seed), and with the quick one and the last seed;
    the seed between goes through the command line."""
    return [Job(f"{FAITHFUL.name}-default-{SEEDS[0]}", seed=SEEDS[0], profile="default"),
            Job(f"{FAITHFUL.name}-quick-{SEEDS[-1]}", seed=SEEDS[-1])]


def fault_jobs() -> list[Job]:
    """Per fault: the quick profile with the first seed; the boundary examples alone (any seed)."""
    return [job for name in FAULTS for job in (
        Job(f"{name}-{SEEDS[0]}", seed=SEEDS[0], faults=(name,), select=tuple(FAULTS[name].expected(LEVELS))),
        Job(f"{name}-any-seed", seed=SEEDS[0], profile=UNSHRUNK, max_examples=0, faults=(name,),
            select=tuple(FAULTS[name].expected(LEVELS))))]


def params(jobs):
    return [pytest.param(job, id=job.name) for job in jobs]


def faithful_problems(outcome, advises=(), enough=80):
    """What keeps a faithful or lenient run from passing: an error, a failure, advisories other than those
    declared, an exit code, too few rules judged (passed, or advisory as declared)."""
    problems = {}
    if outcome.errors:
        problems["errors"] = outcome.errors
    if outcome.having("failed"):
        problems["failed"] = outcome.having("failed")
    advisories = set(outcome.having("advisory"))
    if advisories != set(advises):
        problems["advisories"] = {"unexpected": sorted(advisories - set(advises)),
                                  "missing": sorted(set(advises) - advisories)}
    if outcome.exit_code != 0:
        problems["exit code"] = outcome.exit_code
    if outcome.count("passed") + len(set(advises)) < enough:
        problems["passed"] = outcome.count("passed")
    return problems


def test_every_variant_is_judged_alone_and_the_whole_suite_runs_with_each_option():
    jobs = {job.name: job for job in variant_jobs()}
    assert len(VARIANTS) > 20 and set(jobs) == {v.name for v in VARIANTS if v is not FAITHFUL} | {LENIENT_AT_ONCE}
    assert set(VARIANT_RULES) <= set(jobs)
    whole = [job for job in jobs.values() if job.select is None]
    for variant in VARIANTS[1:]:
        # judged alone on rules that include every advisory it declares...
        assert set(variant.advises) <= {r.id for r in chosen(jobs[variant.name])}, variant.name
        # ...and, lenient or playing an unknown fate, each of its options with its value in a run of the whole suite
        if variant.advises or "unknown_fate" in variant.options:
            assert any(set(variant.options.items()) <= set(job.options) for job in whole), variant.name


@pytest.mark.parametrize("job", params(variant_jobs()))
def test_a_faithful_server_passes_every_rule_in_every_variant(job):
    outcome = judge_run(job)
    problems = faithful_problems(outcome, ADVISES[job.name], 80 if job.select is None else 3)
    if dict(job.options).get("transient_unavailable") and outcome.server_errors_retried["requests"] <= 10:
        problems["server errors retried"] = outcome.server_errors_retried  # retried, recorded, then judged
    assert problems == {}


@pytest.mark.parametrize("job", params(existence_first_jobs()))
def test_a_server_deciding_existence_first_passes_with_every_seed(job):
    variant = next(v for v in EXISTENCE_FIRST if job.name.startswith(v.name + "-"))
    outcome = judge_run(job)
    assert faithful_problems(outcome, variant.advises, 3) == {}
    assert all(outcome.statuses[r.id] == "passed" for r in chosen(job)
               if r.id.split(".")[1] in ("AwsAccountId", "Namespace")), outcome.having("failed", "advisory")


def test_existence_first_answers_are_shown_passed_in_the_console_and_the_reports(tmp_path):
    rules = [r.id for r in SPEC.rules if r.sent and r.id.split(".")[1] in ("AwsAccountId", "Namespace")]
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference",
                           "--reference-option", "existence_first=access-denied", "--profile", "quick",
                           "--seed", str(SEEDS[0]), "--report-dir", str(tmp_path), "--examples", "0",
                           *[a for r in rules for a in ("--rule", r)], "--", "-q"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:]
    report = json.loads((tmp_path / "compliance.json").read_text())
    assert {r["id"]: r["status"] for r in report["rules"] if r["id"] in rules} == dict.fromkeys(rules, "passed")
    assert "Failed:" not in done.stdout and "Advisory:" not in done.stdout, done.stdout[-3000:]


def test_an_update_that_cannot_be_read_back_is_inconclusive_never_passed():
    no_describe = (("operations", "RegisterUser,UpdateUser,DeleteUser,ListUsers"),)
    rule = "UpdateUser.lifecycle.update-persists"
    for faults in ((), ("update-not-persisted",)):
        outcome = judge_run(Job("no-describe-user", faults=faults, options=no_describe, select=(rule,)))
        assert outcome.statuses[rule] == "inconclusive" and "DescribeUser" in outcome.messages[rule], outcome.messages
        assert outcome.exit_code == 0


def test_the_faithful_server_passes_through_the_command_line_with_another_seed(tmp_path):
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference",
                           "--profile", "quick", "--seed", str(SEEDS[1]), "--report-dir", str(tmp_path), "--", "-q"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    path = tmp_path / "compliance.json"
    report = json.loads(path.read_text()) if path.exists() else None
    assert report is not None and done.returncode == 0, done.stdout[-3000:]
    assert [r["id"] for r in report["rules"] if r["status"] in ("failed", "advisory")] == []
    assert sum(r["status"] == "passed" for r in report["rules"]) >= 80


@pytest.mark.parametrize("job", params(seed_jobs()))
def test_the_faithful_server_passes_with_any_seed_and_the_default_profile(job):
    assert faithful_problems(judge_run(job)) == {}


def missed(job: Job) -> dict:
    """What a run of the job gets wrong about its fault: a rule's status, an error of the suite, the exit code."""
    outcome = judge_run(job)
    expected = FAULTS[job.faults[0]].expected(LEVELS)
    wrong = {rid: outcome.statuses.get(rid) for rid, status in expected.items() if outcome.statuses.get(rid) != status}
    if outcome.errors:
        wrong["errors"] = outcome.errors
    if outcome.exit_code != (1 if "failed" in expected.values() else 0):
        wrong["exit code"] = outcome.exit_code
    return wrong


@pytest.mark.parametrize("job", params(fault_jobs()))
def test_every_fault_is_caught_with_every_seed(job, record_property):
    name = job.faults[0]
    wrong, how = missed(job), f"seed {job.seed}"
    if job.max_examples == 0:
        how = "the boundary examples alone"
        if wrong:  # only random examples catch it: each of the other seeds must
            how = f"seeds {', '.join(map(str, SEEDS[1:]))}"
            wrong = {seed: w for seed in SEEDS[1:]
                     if (w := missed(replace(job, seed=seed, max_examples=None)))}
    # the mutation score (conftest.py) counts these: the fault, whether this test proves it whatever the seed, how
    record_property("qsconform_fault", [name, job.max_examples == 0, how])
    assert not wrong, f"{name} missed by {how}: {wrong}"
