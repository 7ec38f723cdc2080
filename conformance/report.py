"""What a run leaves behind: compliance.json in the report directory, and the terminal summary."""
from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from qsconform.conformance.render.common import level_text, users_warnings
from qsconform.conformance.results import write_json


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
    return {"name": run.config.target, "endpoint": t.endpoint, "endpoint_source": t.endpoint_source or None,
            "region": t.region, "account_id": t.account_id,
            "live": t.live, "namespace": run.config.namespace, "user_prefix": run.config.prefix,
            "unsupported_operations": dict(run.unsupported), "users_left_behind": list(getattr(run, "left_behind", [])),
            "users_maybe_created": list(run.maybe_created)}


def compliance_document(run) -> dict:
    doc = run.results.document(target=target_info(run), seed=run.seed, profile=run.config.profile,
                               versions=versions(run.spec), strict=run.config.strict)
    doc["server_errors_retried"] = run.server_errors_retried()
    return run.redactor.redact(doc)


def write_reports(document: dict, directory: Path, baseline_outcome=None) -> list[Path]:
    """compliance.json, and the same document as compliance.md, compliance.html and junit.xml."""
    from qsconform.conformance.render import write_all

    path = directory / "compliance.json"
    write_json(path, document)
    return [path, *write_all(document, directory, baseline_outcome)]




def summary_lines(document: dict, directory: Path | None = None) -> list[str]:
    target = document["target"]
    source = f", from {target['endpoint_source']}" if target.get("endpoint_source") else ""
    lines = [f"target {target['name']} ({target['endpoint']}{source}), seed {document['seed']}, "
             f"profile {document['profile']}"]
    for op, counts in document["summary"]["operations"].items():
        shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        lines.append(f"  {op}: {shown}")
    for status, word in (("failed", "FAILED"), ("advisory", "ADVISORY")):
        for rule in sorted((r for r in document["rules"] if r["status"] == status), key=lambda r: r["id"]):
            lines.append(f"{word} {rule['id']} [{level_text(rule)}] {rule['message']}")
    lines += [warning for _, warning in users_warnings(target)]
    baseline = document.get("baseline")
    if baseline:
        advisories = baseline.get("new_advisories") or []  # absent from outcomes written before advisories
        lines.append(f"baseline {baseline['file']}: {len(baseline['new_failures'])} new failure(s), "
                     f"{len(advisories)} new advisory(ies), "
                     f"{len(baseline['accepted'])} accepted, {len(baseline['fixed'])} fixed")
        lines.extend(f"NEW {rule_id}" for rule_id in baseline["new_failures"])
        lines.extend(f"NEW ADVISORY {rule_id}" for rule_id in advisories)
    if directory is not None:
        lines.append(f"report: {directory / 'compliance.json'} (also .md, .html, junit.xml)")
    return lines
