"""The suite's verdicts, proved: a faithful server passes, each fault is caught, whatever the seed.

The reference target (conformance/reference) takes variants and faults:
- a faithful variant writes its answers in one of the ways the sources allow: the run exits 0
  with no failure and no advisory;
- a lenient variant makes a choice the sources leave open (accepts a SessionName for a QUICKSIGHT
  user, refuses external login details for one...): the run exits 0, and reports exactly the
  advisories the variant declares (`advises`), never a failure;
- a fault breaks rules (`breaks`): each MUST or OBSERVED one comes out failed and the run exits 1;
  a fault that breaks only SHOULD rules comes out as their advisories, and the run exits 0.
Every fault, with several seeds. The mutation score (faults caught with every seed / faults
injected) is printed at the end of the session; below 100% the test fails.
"""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from qsconform.conformance.reference import FAULTS, VARIANTS
from qsconform.spec.model import default_spec

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


def test_a_faithful_server_passes_every_rule_in_every_variant(tmp_path):
    def judge(variant):
        select = None if variant.advises else VARIANT_RULES.get(variant.name)
        done, report = run_reference(tmp_path, variant.name, variant.options.items(), select=select)
        if report is None:
            return variant.name, {"no report": done.stdout[-2000:] + done.stderr[-2000:]}
        wrong = {}
        if statuses(report, "failed"):
            wrong["failed"] = statuses(report, "failed")
        advisories = set(statuses(report, "advisory"))
        if advisories != set(variant.advises):
            wrong["advisories"] = {"unexpected": sorted(advisories - set(variant.advises)),
                                   "missing": sorted(set(variant.advises) - advisories)}
        if done.returncode != 0:
            wrong["exit code"] = done.returncode
        if report["summary"]["total"]["passed"] < (80 if select is None else 3):
            wrong["passed"] = report["summary"]["total"]["passed"]
        if variant.options.get("transient_unavailable") and report["server_errors_retried"]["requests"] <= 10:
            wrong["server errors retried"] = report["server_errors_retried"]  # retried, recorded, then judged
        return variant.name, wrong

    assert len(VARIANTS) > 20
    wrong = {name: problems for name, problems in in_parallel(judge, VARIANTS) if problems}
    assert wrong == {}


def test_the_faithful_server_passes_with_any_seed_and_the_default_profile(tmp_path):
    runs = [(f"quick-{seed}", seed, "quick") for seed in SEEDS[1:]] + [("default-5", 5, "default")]
    results = in_parallel(lambda r: run_reference(tmp_path, r[0], seed=r[1], profile=r[2]), runs)
    for (name, _, _), (done, report) in zip(runs, results):
        assert report is not None and done.returncode == 0, (name, done.stdout[-3000:])
        assert statuses(report, "failed", "advisory") == {}, name


LEVELS = {r.id: r.level for r in SPEC.rules}


def test_every_fault_is_caught_with_every_seed(tmp_path, request):
    def catch(job):
        name, seed = job
        fault = FAULTS[name]
        expected = fault.expected(LEVELS)
        done, report = run_reference(tmp_path, f"{name}-{seed}", faults=[name], seed=seed,
                                     select=" or ".join(expected))
        got = {r["id"]: r["status"] for r in report["rules"]} if report else {}
        wrong = {rid: got.get(rid) for rid, status in expected.items() if got.get(rid) != status}
        fails = "failed" in expected.values()
        if done.returncode != (1 if fails else 0):
            wrong["exit code"] = done.returncode
        return name, seed, wrong

    results = in_parallel(catch, [(name, seed) for name in FAULTS for seed in SEEDS])
    missed = {}
    for name, seed, wrong in results:
        if wrong:
            missed.setdefault(name, {})[seed] = wrong
    request.config.__dict__.setdefault("_qsconform_mutation_score", []).append(
        f"mutation score: {len(FAULTS) - len(missed)}/{len(FAULTS)} faults caught with each of the seeds "
        f"{', '.join(map(str, SEEDS))}" + (f"; missed: {', '.join(missed)}" if missed else ""))
    assert not missed, missed
