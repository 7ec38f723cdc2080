"""What `qsconform run` prints at the end: failures grouped by symptom, each rule named once with its level,
the advisories and the rules without a verdict, the score, and the report paths last.

Evidence (requests, answers, curl lines, reproduce commands) is in the reports; `qsconform run -v` also
shows it as each rule is judged. Everything here is read off the compliance document, so the console and
the reports count alike.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Mapping

from qsconform.conformance.render import common

WIDTH = 100
SHOWN_UNJUDGED = 8  # inconclusive or skipped rules listed with why; the reports have all


def symptom(message: str) -> str | None:
    """What many rules' deviations share, from the start of the message: None when the message is the rule's own."""
    accepted = re.match(r"accepted with (\d+); expected a refusal", message)
    if accepted:
        return f"accepts invalid input with {accepted.group(1)}"
    refused = re.match(r"answered (.+?); the real API was recorded accepting it", message)
    if refused:
        return f"refuses with {refused.group(1)} what the real API was recorded accepting"
    answered = re.match(r"answered (.+?); expected one of", message)
    if answered:
        return f"answers {answered.group(1)} to invalid input"
    if message.startswith("server error "):
        return f"answers a valid request with a {message[len('server error '):]}"
    return None


def _wrapped(head: str, items: list[str], indent: str) -> list[str]:
    return textwrap.wrap(f"{head}{', '.join(items)}", WIDTH, initial_indent=indent, subsequent_indent=indent + "    ",
                         break_on_hyphens=False)


def _grouped(rules: list[Mapping]) -> list[str]:
    """Rules under their shared symptom (most rules first), by operation and level; the rest one per line."""
    groups: dict[str, list[Mapping]] = {}
    alone: list[Mapping] = []
    for rule in rules:
        key = symptom(str(rule.get("message") or ""))
        (groups.setdefault(key, []) if key else alone).append(rule)
    lines = []
    for key, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {key} ({len(members)}):")
        by_place: dict[tuple[str, str], list[str]] = {}
        for rule in members:
            op, _, local = str(rule["id"]).partition(".")
            by_place.setdefault((op, common.level_text(rule)), []).append(local)
        for (op, level), names in by_place.items():
            lines += _wrapped(f"{op} [{level}]: ", names, "    ")
    for rule in alone:
        lines.append("  " + common.one_line(f"{rule['id']} [{common.level_text(rule)}] {rule.get('message', '')}", WIDTH + 60))
    return lines


def _score(document: Mapping) -> list[str]:
    per_op = common.counts(document)
    shown = ("passed", "failed", "advisory")
    width = max((len(op) for op in per_op), default=0)
    lines = ["Score: (passed + advisory) / rules judged"]
    for op, tally in list(per_op.items()) + [("total", common.total(per_op))]:
        judged = ", ".join(f"{tally.get(s, 0)} {s}" for s in shown)
        other = ", ".join(f"{n} {s}" for s, n in tally.items() if n and s not in shown)
        lines.append(f"  {op:<{width}}  {common.percent(tally):>6}  {judged}" + (f"; not judged: {other}" if other else ""))
    levels: dict[str, int] = {}
    for rule in common.rules(document):
        if common.status_of(rule) == "failed":
            levels[str(rule.get("level"))] = levels.get(str(rule.get("level")), 0) + 1
    if levels:
        lines.append("  failed by level: " + ", ".join(f"{lvl} {n}" for lvl, n in sorted(levels.items())))
    return lines


def _observations(document: Mapping) -> list[str]:
    """One line on the recordings the run judged by (`--observations`, spec/observations/)."""
    effects = document.get("observations") or []
    if not effects:
        return []
    files = sorted({e["file"] for e in effects})
    counts = {kind: sum(e["effect"] == kind for e in effects) for kind in ("applies", "confirms", "contradicts")}
    line = (f"observations: {', '.join(files)}: {counts['applies']} rule(s) judged by the recording, "
            f"{counts['confirms']} confirmed")
    if counts["contradicts"]:
        line += f", {counts['contradicts']} CONTRADICT the spec (not applied; see qsconform observations FILE)"
    return [line]


def summary_lines(document: Mapping, directory: Path | None = None) -> list[str]:
    target = document["target"]
    source = f", from {target['endpoint_source']}" if target.get("endpoint_source") else ""
    lines = [f"qsconform: target {target['name']} ({target['endpoint']}{source}), seed {document['seed']}, "
             f"profile {document['profile']}" + (", strict" if common.strict(document) else "")
             + (f", {document['concurrency']} rules side by side" if (document.get("concurrency") or 1) > 1 else "")]
    lines += _observations(document)
    rules = sorted(common.rules(document), key=lambda r: str(r.get("id")))
    failed = [r for r in rules if common.status_of(r) == "failed"]
    advisory = [r for r in rules if common.status_of(r) == "advisory"]
    if failed:
        lines += ["", f"Failed: {len(failed)} rule(s), by symptom"] + _grouped(failed)
    if advisory:
        note = "they fail the run (--strict)" if common.strict(document) else "they fail a run only under --strict"
        lines += ["", f"Advisory: {len(advisory)} rule(s), deviations from what only an inference expects; {note}"]
        lines += _grouped(advisory)
    unjudged = [r for r in rules if common.status_of(r) in ("inconclusive", "skipped", "unsupported")]
    if unjudged:
        lines += ["", f"Not judged: {len(unjudged)} rule(s)"]
        lines += ["  " + common.one_line(f"{r['id']} ({common.status_of(r)}): {r.get('message', '')}", WIDTH + 60)
                  for r in unjudged[:SHOWN_UNJUDGED]]
        if len(unjudged) > SHOWN_UNJUDGED:
            lines.append(f"  and {len(unjudged) - SHOWN_UNJUDGED} more (in the reports)")
    lines += [""] + _score(document)
    lines += [f"  {note}" for note in common.traffic_notes(document)]
    baseline = document.get("baseline")
    if baseline:
        advisories = baseline.get("new_advisories") or []  # absent from outcomes written before advisories
        lines.append(f"Baseline {baseline['file']}: {len(baseline['new_failures'])} new failure(s), "
                     f"{len(advisories)} new advisory(ies), {len(baseline['accepted'])} accepted, "
                     f"{len(baseline['fixed'])} fixed")
        lines += _wrapped("  new: ", list(baseline["new_failures"]) + list(advisories), "") \
            if baseline["new_failures"] or advisories else []
    lines += [warning for _, warning in common.users_warnings(target)]
    if document.get("baseline_not_written"):
        lines.append(f"Baseline {common.one_line(document['baseline_not_written'])}")
    if common.partial(document):  # where a complete run's summary would leave pass or fail to the score
        lines.append(common.run_verdict(document))
    if directory is not None:
        lines.append(f"Reports: {directory / 'compliance.html'} (also compliance.json, compliance.md, junit.xml)")
    return lines
