"""What a run leaves behind: compliance.json in the report directory, and the terminal summary."""
from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from conformance.results import write_json


def versions(spec) -> dict:
    """Versions of the suite, the spec (a digest of its files) and the libraries that shape verdicts."""
    digest = hashlib.sha256()
    for path in sorted(Path(spec.directory).rglob("*.json")):
        digest.update(path.read_bytes())
    out = {"spec": digest.hexdigest()[:12]}
    for dist in ("qsconform", "hypothesis", "botocore", "moto"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def target_info(run) -> dict:
    t = run.target
    return {"name": run.config.target, "endpoint": t.endpoint, "region": t.region, "account_id": t.account_id,
            "live": t.live, "namespace": run.config.namespace, "user_prefix": run.config.prefix,
            "unsupported_operations": dict(run.unsupported), "users_left_behind": list(getattr(run, "left_behind", []))}


def compliance_document(run) -> dict:
    doc = run.results.document(target=target_info(run), seed=run.seed, profile=run.config.profile,
                               versions=versions(run.spec))
    return run.redactor.redact(doc)


def write_reports(run, directory: Path) -> list[Path]:
    path = directory / "compliance.json"
    write_json(path, compliance_document(run))
    return [path]


def summary_lines(run) -> list[str]:
    summary = run.results.summary()
    lines = [f"target {run.config.target} ({run.target.endpoint}), seed {run.seed}, profile {run.config.profile}"]
    for op, counts in summary["operations"].items():
        shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        lines.append(f"  {op}: {shown}")
    for res in sorted(run.results.failed, key=lambda r: r.rule.id):
        lines.append(f"FAILED {res.rule.id} [{res.rule.level}] {res.message}")
    left = getattr(run, "left_behind", [])
    if left:
        lines.append(f"could not delete {len(left)} user(s) this run created: {', '.join(left)} "
                     f"(qsconform sweep --prefix {run.config.prefix})")
    if getattr(run, "report_dir", None):
        lines.append(f"report: {run.report_dir / 'compliance.json'}")
    return lines
