"""The suite's verdicts, proved: a faithful server passes, each fault is caught, whatever the seed.

The reference target (conformance/reference) takes variants and faults:
- a faithful variant writes its answers in one of the ways the sources allow: the run exits 0
  with no failure and no advisory;
- a lenient variant makes a choice the sources leave open (accepts a SessionName for a QUICKSIGHT
  user, refuses external login details for one...): the run exits 0, and reports exactly the
  advisories the variant declares (`advises`), never a failure;
- a fault breaks rules (`breaks`): each MUST or OBSERVED one comes out failed and the run exits 1;
  a fault that breaks only SHOULD rules comes out as their advisories, and the run exits 0.
Every fault, with several seeds: the first with the quick profile as a run has it, the others with the quick
profile's examples but no shrinking (tests/reference_runs.py, UNSHRUNK: the verdict is the one the first
deviating example gives, so whether the seed catches the fault is the same question, for less time).
The runs are judged in-process (tests/reference_runs.py: the session `qsconform run` opens, without an
interpreter and a pytest session per run), all the runs of the tests selected in one pool of processes, the
longest first; the faithful server with one other seed goes through the command line. The mutation score
(faults caught with every seed / faults injected) is printed at the end of the session; below 100% the test fails.
"""
import json
import subprocess
import sys

import pytest

from qsconform.conformance.reference import FAULTS, VARIANTS
from qsconform.spec.model import default_spec
from reference_runs import UNSHRUNK, Job, judge_all

pytestmark = pytest.mark.e2e

SPEC = default_spec()
SEEDS = (5, 6, 7)

# A single-option faithful variant changes how answers are written; the rules that read those answers
# are enough to prove it is accepted (all-at-once runs the whole suite with these options together). The
# faithful, all-at-once and transient-unavailable variants, and every lenient one (whose advisories must be
# exactly those it declares), run the whole suite.
VARIANT_RULES = {"status-in-body": "response", "extra-members": "response or error",
                 "deserialisation-validation-exception": "type or protocol or response",
                 "validation-exception": "enum or pattern or required or max_length or iam-requires",
                 "error-header-suffix": "enum or required or lifecycle or error",
                 "error-header-prefix": "enum or required or lifecycle or error",
                 "error-in-body": "enum or required or lifecycle or error",
                 "error-only-in-body": "enum or required or lifecycle or error or body-not-json"}


class CommandLineRun:
    """A run of the faithful server through the command line (the quick profile), started at once, read at the end."""

    def __init__(self, report_dir, seed):
        self.report_dir = report_dir
        args = [sys.executable, "-m", "qsconform.conformance.cli", "run", "--target", "reference", "--profile",
                "quick", "--seed", str(seed), "--report-dir", str(report_dir), "--", "-q"]
        self.output = report_dir.parent / f"{report_dir.name}.out"  # a file: a pipe nobody reads yet could fill up
        with open(self.output, "w") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)

    def result(self):
        """Its exit code, its output and its compliance.json (None if it wrote none)."""
        code = self.process.wait(timeout=900)
        path = self.report_dir / "compliance.json"
        return code, self.output.read_text(errors="replace"), json.loads(path.read_text()) if path.exists() else None


def words(select):
    return tuple(w.strip() for w in select.split(" or ")) if select else None


LEVELS = {r.id: r.level for r in SPEC.rules}
FAITHFUL = next(v for v in VARIANTS if not v.options)


def variant_jobs():
    """Every variant but the plain faithful one (the seeds test judges it), with the first seed."""
    return [Job(variant.name, options=tuple(variant.options.items()),
                select=None if variant.advises else words(VARIANT_RULES.get(variant.name)))
            for variant in VARIANTS if variant is not FAITHFUL]


def seed_jobs():
    """The faithful server with the default profile (the first seed), and with the quick one and the last seed;
    the seed between goes through the command line."""
    return [Job(f"{FAITHFUL.name}-default-{SEEDS[0]}", seed=SEEDS[0], profile="default"),
            Job(f"{FAITHFUL.name}-quick-{SEEDS[-1]}", seed=SEEDS[-1])]


def fault_jobs():
    return [Job(f"{name}-{seed}", seed=seed, profile="quick" if seed == SEEDS[0] else UNSHRUNK, faults=(name,),
                select=tuple(FAULTS[name].expected(LEVELS)))
            for name in FAULTS for seed in SEEDS]


JOBS = {"test_a_faithful_server_passes_every_rule_in_every_variant": variant_jobs,
        "test_the_faithful_server_passes_with_any_seed_and_the_default_profile": seed_jobs,
        "test_every_fault_is_caught_with_every_seed": fault_jobs}


def selected(request) -> set[str]:
    return {item.originalname for item in request.session.items if item.module is request.module}


@pytest.fixture(scope="module")
def command_line_run(request, tmp_path_factory):
    """The faithful server with the middle seed through the command line, running beside the pool (so no
    core waits for it at the end); None when the test that reads it is not selected."""
    if "test_the_faithful_server_passes_with_any_seed_and_the_default_profile" not in selected(request):
        yield None
        return
    run = CommandLineRun(tmp_path_factory.mktemp("cli-quick"), seed=SEEDS[1])
    yield run
    if run.process.poll() is None:
        run.process.kill()
        run.process.wait()


@pytest.fixture(scope="module")
def outcomes(request, command_line_run):
    """The outcome of every job of the tests of this module that the session runs, by job name: judged in one
    pool, so that the longest runs of all of them start first and both processes stay busy to the end."""
    wanted = selected(request)
    jobs = [job for test, make in JOBS.items() if test in wanted for job in make()]
    return {job.name: outcome for job, outcome in zip(jobs, judge_all(jobs))}


def faithful_problems(outcome, advises=(), enough=80):
    """What keeps a faithful or lenient run from passing: an error, a failure, advisories other than those
    declared, an exit code, too few rules passed."""
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
    if outcome.count("passed") < enough:
        problems["passed"] = outcome.count("passed")
    return problems


def test_a_faithful_server_passes_every_rule_in_every_variant(outcomes):
    wrong = {}
    for variant in VARIANTS:
        if variant is FAITHFUL:
            continue
        outcome = outcomes[variant.name]
        problems = faithful_problems(outcome, variant.advises, 80 if outcome.job.select is None else 3)
        if variant.options.get("transient_unavailable") and outcome.server_errors_retried["requests"] <= 10:
            problems["server errors retried"] = outcome.server_errors_retried  # retried, recorded, then judged
        if problems:
            wrong[variant.name] = problems
    assert len(VARIANTS) > 20
    assert wrong == {}


def test_the_faithful_server_passes_with_any_seed_and_the_default_profile(outcomes, command_line_run):
    wrong = {job.name: problems for job in seed_jobs() if (problems := faithful_problems(outcomes[job.name]))}
    assert wrong == {}
    code, output, report = command_line_run.result()
    assert report is not None and code == 0, output[-3000:]
    assert [r["id"] for r in report["rules"] if r["status"] in ("failed", "advisory")] == []
    assert sum(r["status"] == "passed" for r in report["rules"]) >= 80


def test_every_fault_is_caught_with_every_seed(outcomes, request):
    results = []
    for job in fault_jobs():
        outcome = outcomes[job.name]
        expected = FAULTS[job.faults[0]].expected(LEVELS)
        wrong = {rid: outcome.statuses.get(rid) for rid, status in expected.items()
                 if outcome.statuses.get(rid) != status}
        if outcome.errors:
            wrong["errors"] = outcome.errors
        if outcome.exit_code != (1 if "failed" in expected.values() else 0):
            wrong["exit code"] = outcome.exit_code
        results.append((job.faults[0], job.seed, wrong))
    missed = {}
    for name, seed, wrong in results:
        if wrong:
            missed.setdefault(name, {})[seed] = wrong
    request.config.__dict__.setdefault("_qsconform_mutation_score", []).append(
        f"mutation score: {len(FAULTS) - len(missed)}/{len(FAULTS)} faults caught with each of the seeds "
        f"{', '.join(map(str, SEEDS))}" + (f"; missed: {', '.join(missed)}" if missed else ""))
    assert not missed, missed
