"""What `qsconform compare` prints, as `qsconform run` does: what was compared, the rules grouped by the first
thing their answers differ in (each rule named once, with its level), the advisory ones apart, what was not
compared, the report paths, and one verdict line last; every line within the terminal's width.

Everything else (each difference, its count, the interactions) is in compare.json and compare.html. Users a
comparison could not delete are named only for a target it did not start itself: one it started is gone, and
its users with it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from qsconform.conformance.compare.diff import few_names, first_difference, short_json
from qsconform.conformance.reporting.console import SCREEN, View, command_lines, cut, listing, report_lines, width_of

NO_RULE = "(no rule)"  # an interaction a recording labels with no rule: a setup, a cleanup, a valid request


def headline(difference: Mapping) -> str:
    """The difference a group is listed under, in words."""
    kind, path = difference["kind"], difference["path"]
    recorded, got = short_json(difference["recorded"], 40), short_json(difference["got"], 40)
    return {"status": f"answers {got}, recorded {recorded}",
            "error_type": f"error type {got}, recorded {recorded}",
            "content_type": f"Content-Type {got}, recorded {recorded}",
            "missing_member": f"{path} missing from the answer",
            "extra_member": f"{path} in the answer, not recorded"}.get(kind, f"{path} is {got}, recorded {recorded}")


def _groups(view: View, groups: Mapping[str, Mapping]) -> list[str]:
    by_headline: dict[str, list[tuple[str, Mapping]]] = {}
    for name, group in groups.items():
        first = first_difference(group)
        if first is not None:
            by_headline.setdefault(headline(first), []).append((name, group))
    lines = []
    for key, members in sorted(by_headline.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {cut(key, view.width - 10)} ({len(members)}):")
        by_place: dict[tuple[str, str], list[str]] = {}
        for name, group in members:
            op, _, local = name.partition(".")
            by_place.setdefault((op, group.get("level") or ""), []).append(local or NO_RULE)
        merged: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for (op, level), names in by_place.items():
            merged.setdefault((level, tuple(names)), []).append(op)
        for (level, names), ops in merged.items():
            if names == (NO_RULE,):  # a recording's setup, cleanup and valid requests
                lines += view.wrap(f"{', '.join(ops)}: requests sent for no rule (setup, cleanup, valid ones)", "    ")
            else:  # a level for rules of the spec; none for a recording's own labels (RegisterUser.valid)
                lines += listing(view, f"{', '.join(ops)}{f' [{level}]' if level else ''}: ", list(names))
    return lines


def header(view: View, report: Mapping) -> list[str]:
    return view.wrap(f"qsconform compare: {report['target']} with {report['reference']}")


def differences(view: View, report: Mapping) -> list[str]:
    groups = {n: g for n, g in report["groups"].items() if not g["advisory"] and first_difference(g)}
    if not groups:
        return []
    return [""] + view.wrap(f"Differences: {len(groups)} rule(s), by what their answers differ in first "
                            "(all of it in compare.html)") + _groups(view, groups)


def advisories(view: View, report: Mapping) -> list[str]:
    groups = {n: g for n, g in report["groups"].items() if g["advisory"] and first_difference(g)}
    if not groups:
        return []
    fate = "they count (--strict)" if report["strict"] else "they change the exit code only under --strict"
    return [""] + view.wrap(f"Advisory: {len(groups)} SHOULD rule(s) differ; {fate}") \
        + _groups(view, groups)


def not_compared(view: View, report: Mapping) -> list[str]:
    t = report["totals"]
    lines = []
    if t["skipped"] or t["inconclusive"]:
        lines += view.wrap(f"Not compared: {t['skipped']} interaction(s) skipped, {t['inconclusive']} inconclusive "
                           "(why in compare.json)")
    if t["allowed_differences"]:
        lines += view.wrap(f"Allowed: {t['allowed_differences']} difference(s), each with its reason in compare.json")
    return [""] + lines if lines else []


def cost(view: View, report: Mapping) -> list[str]:
    """The users each side registered (by role), and the drawn registrations --max-users held back."""
    lines = []
    for side, roles in report.get("registered", {}).items():
        shown = ", ".join(f"{role} {n}" for role, n in sorted(roles.items()))
        lines += view.wrap(f"registered {sum(roles.values())} user(s) on {side}" + (f" ({shown})" if shown else ""))
    if report.get("held_back"):
        lines += view.wrap(f"{report['held_back']} drawn registration(s) held back: beyond what --max-users leaves")
    return lines


def left_behind(view: View, report: Mapping) -> list[str]:
    """Users a side could not delete, with the command that deletes them; none for a target the comparison
    started itself (its users went with it)."""

    lines = []
    for side, names in report["left_behind"].items():
        if names and side not in report.get("started", []):
            lines += view.wrap(f"left behind on {side}: {few_names(names)}; to delete them:")
            prefix = report["prefixes"].get(side)
            lines += command_lines("qsconform sweep" + (f" --prefix {prefix}" if prefix else ""), view.width, "  ")
    return lines


def reports(view: View, report: Mapping) -> list[str]:
    if view.directory is None:
        return []
    return report_lines(view, "compare.html", ["compare.json"])


def verdict(view: View, report: Mapping) -> list[str]:
    t = report["totals"]
    differing = sum(1 for g in report["groups"].values() if first_difference(g))
    word = "DIFFERENT" if report["exit_code"] else "SAME"
    if not t["differences"]:
        said = "no difference"
    else:
        said = f"{t['differences']} difference(s)" + (f" ({t['advisory_differences']} advisory)"
                                                      if t["advisory_differences"] else "")
    parts = [f"{word}: {said} in {differing} of {len(report['groups'])} rules",
             f"{t['compared']} of {t['interactions']} interactions compared"]
    if report.get("seconds") is not None:
        parts[-1] += f" in {report['seconds']:.1f} s"
    while len(parts) > 1 and len("; ".join(parts)) > view.width:
        parts.pop()
    return [cut("; ".join(parts), view.width)]


SECTIONS = (header, differences, advisories, not_compared, cost, left_behind, reports, verdict)


def summary_lines(report: Mapping, directory: Path | None = None, width: int | None = None) -> list[str]:
    """The summary of a comparison (`report`: CompareReport.as_dict()), within a screen when it can be: rule names
    beyond it are counted."""
    view = View(report, Path(directory) if directory is not None else None, width_of(width))
    for name_lines in (None, 6, 4, 3, 2, 1):
        view.name_lines = name_lines
        lines = [line for section in SECTIONS for line in section(view, report)]
        if len(lines) <= SCREEN:
            break
    return lines
