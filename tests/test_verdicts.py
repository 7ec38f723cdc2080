"""The suite's verdicts, proved: a faithful server passes, each fault is caught, whatever the seed.

The reference target (conformance/reference) takes variants and faults:
- a faithful variant writes its answers in one of the ways the sources allow: the run exits 0
  with no failure and no advisory;
- a lenient variant makes a choice the sources leave open (accepts a SessionName for a QUICKSIGHT
  user, refuses external login details for one...): the run exits 0, and reports exactly the
  advisories the variant declares (`advises`), never a failure;
- a fault breaks rules (`breaks`): each MUST or OBSERVED one comes out failed and the run exits 1;
  a fault that breaks only SHOULD rules comes out as their advisories, and the run exits 0.
Every fault, with several seeds. The variants and the faults are judged in-process (tests/reference_runs.py:
the session `qsconform run` opens, without an interpreter and a pytest session per run); the faithful server
with other seeds and the default profile goes through the command line. The mutation score (faults caught with every seed / faults
injected) is printed at the end of the session; below 100% the test fails.
"""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from qsconform.conformance.reference import FAULTS, VARIANTS
from qsconform.spec.model import default_spec
from reference_runs import Job, judge_all

pytestmark = pytest.mark.e2e

SPEC = default_spec()
SEEDS = (5, 6, 7)

# A single-option faithful variant changes how answers are written; the rules that read those answers
# are enough to prove it is accepted. The faithful and all-at-once variants, and every lenient one (whose
# advisories must be exactly those it declares), run the whole suite.
VARIANT_RULES = {"status-in-body": "response", "extra-members": "response or error",
                 "validation-exception": "enum or pattern or required or max_length or iam-requires",
                 "error-header-suffix": "enum or required or lifecycle or error",
                 "error-header-prefix": "enum or required or lifecycle or error",
                 "error-in-body": "enum or required or lifecycle or error",
                 "error-only-in-body": "enum or required or lifecycle or error or body-not-json"}


def run_reference(tmp_path, name, options=(), faults=(), select=None, seed=5, profile="quick"):
    args = [sys.executable, "-m", "qsconform.conformance.cli", "run", "--target", "reference", "--profile", profile,
            "--seed", str(seed), "--report-dir", str(tmp_path / name)]
    for key, value in options:
        args += ["--reference-option", f"{key}={value}"]
    for fault in faults:
        args += ["--fault", fault]
    args += ["--", "-q"] + (["-k", select] if select else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    path = tmp_path / name / "compliance.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return done, report


def statuses(report, *wanted):
    return {r["id"]: r["message"] for r in report["rules"] if r["status"] in wanted}


def in_parallel(fn, items):
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(fn, items))


def words(select):
    return tuple(w.strip() for w in select.split(" or ")) if select else None


def test_a_faithful_server_passes_every_rule_in_every_variant():
    jobs = [Job(variant.name, options=tuple(variant.options.items()),
                select=None if variant.advises else words(VARIANT_RULES.get(variant.name))) for variant in VARIANTS]
    wrong = {}
    for variant, outcome in zip(VARIANTS, judge_all(jobs)):
        problems = {}
        if outcome.errors:
            problems["errors"] = outcome.errors
        if outcome.having("failed"):
            problems["failed"] = outcome.having("failed")
        advisories = set(outcome.having("advisory"))
        if advisories != set(variant.advises):
            problems["advisories"] = {"unexpected": sorted(advisories - set(variant.advises)),
                                      "missing": sorted(set(variant.advises) - advisories)}
        if outcome.exit_code != 0:
            problems["exit code"] = outcome.exit_code
        if outcome.count("passed") < (80 if outcome.job.select is None else 3):
            problems["passed"] = outcome.count("passed")
        if variant.options.get("transient_unavailable") and outcome.server_errors_retried["requests"] <= 10:
            problems["server errors retried"] = outcome.server_errors_retried  # retried, recorded, then judged
        if problems:
            wrong[variant.name] = problems
    assert len(VARIANTS) > 20
    assert wrong == {}


def test_the_faithful_server_passes_with_any_seed_and_the_default_profile(tmp_path):
    runs = [(f"quick-{seed}", seed, "quick") for seed in SEEDS[1:]] + [("default-5", 5, "default")]
    results = in_parallel(lambda r: run_reference(tmp_path, r[0], seed=r[1], profile=r[2]), runs)
    for (name, _, _), (done, report) in zip(runs, results):
        assert report is not None and done.returncode == 0, (name, done.stdout[-3000:])
        assert statuses(report, "failed", "advisory") == {}, name


LEVELS = {r.id: r.level for r in SPEC.rules}


def test_every_fault_is_caught_with_every_seed(request):
    jobs = [Job(f"{name}-{seed}", seed=seed, faults=(name,), select=tuple(FAULTS[name].expected(LEVELS)))
            for name in FAULTS for seed in SEEDS]
    results = []
    for job, outcome in zip(jobs, judge_all(jobs)):
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
