"""matrix.html and matrix.md: several compliance documents side by side (moto 5.0, moto 5.2, the reference,
someone's emulator), rule by rule, one column per report.

Each report's score comes first, then what changed (the rules whose status is not the same in every column),
then every rule, each cell linking to the rule's evidence in its own report (compliance.html#rule-...). The page is the Jinja2 template templates/matrix.html; escaping, statuses, scores and the
page's look are the single-report renderers' own (common.py, html.py and its templates, markdown.py); nothing
here talks to a target. A rule one report lacks (another spec)
is "not in this report" in its column, which counts as a change.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from markupsafe import Markup

from qsconform.conformance.reporting.render import common
from qsconform.conformance.reporting.render import html as page
from qsconform.conformance.reporting.render import markdown as md

MESSAGE_LIMIT = 120  # characters of a message in a cell of the changed rules
ABSENT = "not in this report"

CSS = page.CSS + (page.TEMPLATES / "matrix.css").read_text(encoding="utf-8")
JS = page.REVEAL_JS + (page.TEMPLATES / "matrix.js").read_text(encoding="utf-8")
CSP = page.csp(CSS, JS)


def problem(doc: Any) -> str | None:
    """Why `doc` cannot be a column (it is not a compliance document), or None."""
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list) or not isinstance(doc.get("target"), dict):
        return "no target object and rules list"
    for key in ("versions", "summary"):
        if not isinstance(doc.get(key) or {}, dict):
            return f"its {key} is not an object"
    if not isinstance((doc.get("summary") or {}).get("operations") or {}, dict):
        return "its summary's operations are not an object"
    for rule in doc["rules"]:
        if not (isinstance(rule, dict) and isinstance(rule.get("id"), str)
                and all(isinstance(rule.get(k) or "", str) for k in ("status", "operation"))
                and isinstance(rule.get("example") or {}, dict)):
            return "a rule without a string id, status or operation"
    return None


# -- the model: columns, rules, what changed --------------------------------------------------------

def headings(docs: Sequence[Mapping], sources: Sequence[str]) -> list[str]:
    """A column heading per report: the target's name, with what sets it apart when names repeat (the versions
    that differ, else the start time, else the file), and the column's number as a last resort."""
    names = [common.one_line((d.get("target") or {}).get("name") or "?") for d in docs]
    out = list(names)
    for name in set(names):
        group = [i for i, n in enumerate(names) if n == name]
        if len(group) < 2:
            continue
        versions = [docs[i].get("versions") or {} for i in group]
        keys = [k for k in dict.fromkeys(k for v in versions for k in v) if len({str(v.get(k)) for v in versions}) > 1]
        details = [", ".join(f"{k} {v.get(k, '?')}" for k in keys) for v in versions]
        for other in ([str(docs[i].get("started")) for i in group], [sources[i] for i in group]):
            if len(set(details)) == 1:
                details = other
        for i, detail in zip(group, details):
            out[i] = f"{name} ({common.one_line(detail)})"
    return [f"{h} #{i + 1}" if out.count(h) > 1 else h for i, h in enumerate(out)]


def _columns(docs: Sequence[Mapping]) -> list[dict[str, dict]]:
    return [{str(r.get("id")): r for r in common.rules(d)} for d in docs]


def rule_ids(docs: Sequence[Mapping]) -> list[str]:
    """Every rule id of any report, by operation (in the reports' order) then id."""
    order = {op: i for i, op in enumerate(dict.fromkeys(op for d in docs for op in common.operations(d)))}
    operation: dict[str, str] = {}
    for column in _columns(docs):
        for rule_id, rule in column.items():
            operation.setdefault(rule_id, rule.get("operation") or "?")
    return sorted(operation, key=lambda r: (order.get(operation[r], len(order)), r))


def changed(docs: Sequence[Mapping]) -> list[str]:
    """The rules whose status is not the same in every report (a rule a report lacks counts as a status)."""
    columns = _columns(docs)
    return [r for r in rule_ids(docs)
            if len({common.status_of(c[r]) if r in c else None for c in columns}) > 1]


def _statuses(docs: Sequence[Mapping]) -> list[str]:
    return list(dict.fromkeys(s for d in docs for s in common.statuses(d)))


def _specs_note(docs: Sequence[Mapping]) -> str:
    specs = sorted({str((d.get("versions") or {}).get("spec")) for d in docs})
    return (f"The reports come from different specs ({', '.join(specs)}): a rule one of them lacks is shown as "
            f"“{ABSENT}”." if len(specs) > 1 else "")


def _facts(doc: Mapping, source: str) -> list[Any]:
    target = doc.get("target") or {}
    versions = ", ".join(f"{k} {v}" for k, v in (doc.get("versions") or {}).items() if v)
    return [target.get("endpoint"), doc.get("started"), doc.get("profile"), doc.get("seed"), versions, source]


FACTS = ["Endpoint", "Started", "Profile", "Seed", "Versions", "File"]


# -- Markdown ------------------------------------------------------------------------------------------

def _md_cell(rule: Mapping | None, message: bool = False) -> str:
    if rule is None:
        return md.text(ABSENT)
    status = common.status_of(rule)
    cell = f"{md.text(status)} ({md.text(common.level_text(rule))})"
    if message and status != "passed" and rule.get("message"):
        cell += ": " + md.text(rule.get("message"), MESSAGE_LIMIT)
    return cell


def render_markdown(docs: Sequence[Mapping], sources: Sequence[str]) -> str:
    """matrix.md for `docs` (read from `sources`, named in the table of reports)."""
    heads, columns, diff = headings(docs, sources), _columns(docs), changed(docs)
    lines = [f"# qsconform matrix: {' vs '.join(md.text(h) for h in heads)}", "",
             *md.table(["Column", *FACTS], [[md.text(h), *(md.text(f) for f in _facts(d, s))]
                                            for h, d, s in zip(heads, docs, sources)]), ""]
    if _specs_note(docs):
        lines += [f"> {md.text(_specs_note(docs))}", ""]
    ops, statuses = list(dict.fromkeys(op for d in docs for op in common.operations(d))), _statuses(docs)
    rows = []
    for head, doc in zip(heads, docs):
        per_op = common.counts(doc)
        tally = common.total(per_op)
        rows.append([md.text(head), f"**{common.percent(tally)}**",
                     *(common.percent(per_op[op]) if op in per_op else "—" for op in ops),
                     *(str(tally.get(s, 0)) for s in statuses)])
    lines += ["## Score", "", *md.table(["Report", "Score", *map(md.text, ops), *map(md.text, statuses)], rows,
                                         ["l"] + ["r"] * (1 + len(ops) + len(statuses))), "",
              "Score = (passed + advisory) / (passed + advisory + failed): the share of judged rules the target "
              "does not fail. n/a when no rule was judged.", ""]
    lines += [f"## What changed ({common.plural(len(diff), 'rule')})", ""]
    if len(docs) < 2:
        lines += ["One report: nothing to compare.", ""]
    elif not diff:
        lines += ["Every rule has the same status in every report.", ""]
    else:
        lines += ["Rules whose status is not the same in every report.", "",
                  *md.table(["Rule", *map(md.text, heads)],
                            [[md.code(r, cell=True), *(_md_cell(c.get(r), True) for c in columns)] for r in diff]), ""]
    ids = rule_ids(docs)
    lines += [f"## All rules ({len(ids)})", "",
              *md.table(["Rule", *map(md.text, heads)], [[md.code(r, cell=True), *(_md_cell(c.get(r)) for c in columns)]
                                                         for r in ids])]
    return "\n".join(lines) + "\n"


# -- HTML ----------------------------------------------------------------------------------------------

def report_links(sources: Sequence[str], output: Path | None = None) -> list[str]:
    """Where each report's compliance.html is, as a link from the matrix (in `output`; None: from where the
    sources are named), so that a cell opens the rule's evidence in its own report."""
    out = []
    for source in sources:
        directory = Path(source).parent if str(source).endswith(".json") else Path(source)
        page_path = directory / "compliance.html"
        if output is not None:
            page_path = Path(os.path.relpath(page_path.resolve(), Path(output).resolve()))
        out.append(quote(page_path.as_posix()))
    return out


def _html_cell(rule: Mapping | None, link: str) -> dict | None:
    if rule is None:
        return None
    status = common.status_of(rule)
    said = common.one_line(rule.get("message"), page.MESSAGE_LIMIT)
    return {"status": status, "css": page.status_class(status), "said": said, **page.level_of(rule),
            "message": common.one_line(said, MESSAGE_LIMIT) if status != "passed" and said else "",
            "link": f"{link}#{common.anchor(rule.get('id'))}"}


def render_html(docs: Sequence[Mapping], sources: Sequence[str], output: Path | None = None) -> str:
    """matrix.html for `docs` (read from `sources`, named in the table of reports), from templates/matrix.html;
    `output`: where it goes (the links to each report's evidence are relative to it)."""
    links = report_links(sources, output)
    heads, columns, ids = headings(docs, sources), _columns(docs), rule_ids(docs)
    diff = changed(docs)
    anchors = page.rule_anchors({"rules": [{"id": r} for r in ids]})
    ops = list(dict.fromkeys(op for d in docs for op in common.operations(d)))
    per_op = [common.counts(d) for d in docs]

    def row(rule_id: str) -> dict:
        return {"id": rule_id, "anchor": anchors[rule_id], "changed": rule_id in diff,
                "cells": [_html_cell(c.get(rule_id), link) for c, link in zip(columns, links)]}

    reports = [{"head": h, "facts": _facts(d, s), "per_op": [common.percent(c[op]) if op in c else "—" for op in ops]}
               for h, d, s, c in zip(heads, docs, sources, per_op)]
    return page.ENV.get_template("matrix.html").render(
        heads=heads, csp=CSP, css=Markup(CSS), js=Markup(JS), fact_names=FACTS, reports=reports,
        specs_note=_specs_note(docs), changed_count=common.plural(len(diff), "rule"), changed=[row(r) for r in diff],
        every=[row(r) for r in ids], cards=[page.card(h, common.total(c)) for h, c in zip(heads, per_op)], ops=ops,
        meanings=page.meanings({"rules": [r for d in docs for r in common.rules(d)]}), absent=ABSENT)


def write_matrix(docs: Sequence[Mapping], sources: Sequence[str], directory: Path) -> list[Path]:
    """Write matrix.html and matrix.md into `directory`; their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [common.write_whole(directory / "matrix.html", render_html(docs, sources, directory)),
            common.write_whole(directory / "matrix.md", render_markdown(docs, sources))]
