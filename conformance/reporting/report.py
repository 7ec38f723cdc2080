"""What a run leaves behind: compliance.json and the other reports in the report directory (the terminal summary: console.py)."""
from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from qsconform.conformance.judging.results import write_json


def versions(spec) -> dict:
    """Versions of the suite, the spec (a digest of its files) and the libraries that shape verdicts."""
    digest = hashlib.sha256()
    for path in sorted(Path(spec.directory).rglob("*.json")):
        digest.update(path.read_bytes())
    for effect in spec.observations:  # the recordings a run judged by are part of what it expected
        answer = effect.observation.answer if effect.observation else None
        digest.update(f"{effect.file}|{effect.rule_id}|{effect.kind}|{answer}".encode())
    out: dict[str, str | None] = {"spec": digest.hexdigest()[:12]}
    for dist in ("qsconform", "hypothesis", "botocore", "moto"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def target_info(run) -> dict:
    t = run.target
    return {"name": run.config.target, "endpoint": t.endpoint, "endpoint_source": t.endpoint_source or None,
            "region": t.region, "account_id": t.account_id,
            "live": t.live, "namespace": run.config.namespace, "user_prefix": run.config.prefix,
            # the options that shaped the run (faults, reference options, --examples...): a rerun carries them
            "options": {flag: list(v) if isinstance(v, tuple) else v for flag, v in run.config.options},
            "unsupported_operations": dict(run.exchanger.unsupported), "users_left_behind": list(run.left_behind),
            "users_left_behind_kinds": list(run.exchanger.left_kinds),
            "users_maybe_created": list(run.ledger.maybe_created)}


def compliance_document(run, *, interrupted: bool = False, stopped_early: bool = False) -> dict:
    doc = run.results.document(target=target_info(run), seed=run.seed, profile=run.config.profile,
                               versions=versions(run.spec), strict=run.config.strict, interrupted=interrupted,
                               stopped_early=stopped_early)
    doc["observations"] = [{"file": e.file, "rule_id": e.rule_id, "effect": e.kind, "text": e.text}
                           for e in run.spec.observations]
    doc["server_errors_retried"] = run.server_errors_retried()
    doc["answers_lost"] = run.answers_lost()  # read back, then sent again or set aside: never judged
    doc["throttling"] = run.transport.throttling()  # throttled answers, the rate the run settled at
    doc["concurrency"] = run.scheduler.concurrency  # rules judged side by side (conformance/engine/side_by_side.py)
    # What the run cost the target: users registered (by role), deleted, requests sent (conformance/engine/budget.py).
    doc["cost"] = run.exchanger.spending.document(run.plan, run.transport.requests, run.ledger.deleted)
    return run.redactor.redact(doc)


def write_reports(document: dict, directory: Path, baseline_outcome=None) -> list[Path]:
    """compliance.json, and the same document as compliance.md, compliance.html and junit.xml."""
    from qsconform.conformance.reporting.render import write_all

    path = directory / "compliance.json"
    write_json(path, document)
    return [path, *write_all(document, directory, baseline_outcome)]
