"""The suite's verdicts, proved: a faithful server passes every rule, each faulty one fails the rules its fault breaks.

The reference target (conformance/reference) is faithful in every variant the sources allow and
takes named faults, each declaring the rule ids it breaks. The mutation score (faults caught /
faults injected) is printed at the end of the session; below 100% the test fails.
"""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.reference import FAULTS, VARIANTS

pytestmark = pytest.mark.e2e

# A single-option variant changes how answers are written; the rules that read those answers are enough
# to prove it is accepted. The faithful and all-at-once variants run the whole suite.
VARIANT_RULES = {"status-in-body": "response", "extra-members": "response or error.body",
                 "validation-exception": "enum or pattern or required or max_length or iam-requires",
                 "error-header-suffix": "enum or required or lifecycle or error.body",
                 "error-header-prefix": "enum or required or lifecycle or error.body",
                 "error-in-body": "enum or required or lifecycle or error.body",
                 "error-only-in-body": "enum or required or lifecycle or error.body or body-not-json"}


def run_reference(tmp_path, name, options=(), faults=(), select=None):
    args = [sys.executable, "-m", "conformance.cli", "run", "--target", "reference", "--profile", "quick",
            "--seed", "5", "--report-dir", str(tmp_path / name)]
    for key, value in options:
        args += ["--reference-option", f"{key}={value}"]
    for fault in faults:
        args += ["--fault", fault]
    args += ["--", "-q"] + (["-k", select] if select else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    path = tmp_path / name / "compliance.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return done, report


@pytest.mark.parametrize("name, options", VARIANTS, ids=[name for name, _ in VARIANTS])
def test_a_faithful_server_passes_every_rule_in_every_variant(tmp_path, name, options):
    done, report = run_reference(tmp_path, name, options.items(), select=VARIANT_RULES.get(name))
    assert report is not None, done.stdout[-3000:] + done.stderr[-3000:]
    failed = {r["id"]: r["message"] for r in report["rules"] if r["status"] == "failed"}
    assert failed == {}, failed
    assert done.returncode == 0, done.stdout[-3000:]
    assert report["summary"]["total"]["passed"] >= (90 if name not in VARIANT_RULES else 3)


def test_every_fault_is_caught(tmp_path, request):
    def catch(item):
        name, fault = item
        done, report = run_reference(tmp_path, name, faults=[name], select=" or ".join(fault.breaks))
        failed = {r["id"] for r in report["rules"] if r["status"] == "failed"} if report else set()
        return name, done.returncode == 1 and set(fault.breaks) <= failed, sorted(set(fault.breaks) - failed)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(catch, FAULTS.items()))
    missed = {name: rules for name, caught, rules in results if not caught}
    request.config.__dict__.setdefault("_qsconform_mutation_score", []).append(
        f"mutation score: {len(results) - len(missed)}/{len(results)} faults caught"
        + (f"; missed: {', '.join(missed)}" if missed else ""))
    assert not missed, missed
