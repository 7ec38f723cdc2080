"""compliance.html: one self-contained page (inline CSS and JS, no URL fetched), viewable offline.

The page is the Jinja2 template templates/compliance.html (with templates/macros.html); this module turns the
document into the plain values it shows. Autoescaping escapes every value where it is written (rule messages,
headers and bodies come from the target, which may answer `<script>`), and the environment's `finalize` first
spells out control characters (common.visible), so no value reaches the page as markup unless this module
marks it safe (a rule id broken after its dots, the page's own style and script). The style and script
(templates/page.css, compliance.js) are pinned by a Content-Security-Policy of their SHA-256 hashes, so even
markup that slipped through could neither run nor load anything. The script only filters rows that are
already in the page: without it, the page shows everything.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, Mapping

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from qsconform.conformance.reporting.render import common

MESSAGE_LIMIT = 300  # characters of a message in a table row (the evidence has it whole)
EVIDENCE_LIMIT = 20000  # characters of each evidence block

# Each status's colour, (light, dark); a status without one is drawn in the colour of "other".
COLOURS = {"passed": ("#1a7f37", "#3fb950"), "failed": ("#cf222e", "#f85149"), "advisory": ("#bc4c00", "#db6d28"),
           "inconclusive": ("#9a6700", "#d29922"), "unsupported": ("#8250df", "#ab7df8"),
           "skipped": ("#6e7781", "#9198a1"), "unsent": ("#0969da", "#4493f8"), "not-run": ("#bf8700", "#e3b341"),
           "deselected": ("#9ba6b1", "#656c76"),
           "other": ("#6e7781", "#9198a1")}

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _shown(value: Any) -> Any:
    """Every value a template writes: control characters spelled out, unless it is markup this module made."""
    return value if isinstance(value, Markup) else common.visible(value)


def breakable(rule_id: Any) -> Markup:
    """A rule id that wraps after its dots, not inside a member name (<wbr> is not copied with the text)."""
    return Markup(str(escape(common.visible(rule_id))).replace(".", ".<wbr>"))


ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"], default=False),
                  finalize=_shown, trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
ENV.filters["breakable"] = breakable


def _colours(dark: bool) -> str:
    return " ".join(f"--{s}: {COLOURS.get(s, COLOURS['other'])[int(dark)]};" for s in (*common.STATUSES, "other"))


def csp_hash(text: str) -> str:
    """A Content-Security-Policy source pinning this exact text ('sha256-...')."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(css: str, js: str) -> str:
    """The page's Content-Security-Policy: nothing but its own style and script, pinned by their hashes."""
    return (f"default-src 'none'; style-src {csp_hash(css)}; script-src {csp_hash(js)}; "
            "img-src data:; base-uri 'none'; form-action 'none'")


CSS = ENV.get_template("page.css").render(colours=_colours, statuses=common.STATUSES)
REVEAL_JS = (TEMPLATES / "reveal.js").read_text(encoding="utf-8")  # shared with matrix.html's script
JS = REVEAL_JS + (TEMPLATES / "compliance.js").read_text(encoding="utf-8")
CSP = csp(CSS, JS)


def e(value: Any) -> str:
    """Any value as HTML text or attribute value: control characters spelled out, markup escaped."""
    return str(escape(common.visible(value)))


def status_class(status: str) -> str:
    return status if status in common.STATUSES else "other"


def rule_anchors(doc: Mapping) -> dict[str, str]:
    """A unique element id per rule id: common.anchor's, numbered should two rules share an id."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for rule in common.rules(doc):
        rule_id = str(rule.get("id"))
        base = common.anchor(rule_id)
        anchor, n = base, 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        out.setdefault(rule_id, anchor)
    return out


# -- the values the templates show --------------------------------------------------------------------------

def facts(doc: Mapping) -> list[tuple[str, Any]]:
    target = doc.get("target") or {}
    versions = doc.get("versions") or {}
    pairs = [("Endpoint", target.get("endpoint")), ("Endpoint from", target.get("endpoint_source")),
             ("Region", target.get("region")),
             ("Account", target.get("account_id")), ("Namespace", target.get("namespace")),
             ("Live target", "yes" if target.get("live") else "no"), ("User prefix", target.get("user_prefix")),
             ("Seed", doc.get("seed")), ("Profile", doc.get("profile")),
             ("Strict", "yes: advisories fail the run" if common.strict(doc) else None),
             ("Started", doc.get("started")),
             ("Duration", f"{doc.get('seconds')} s" if doc.get("seconds") is not None else None),
             ("Merged from", f"{doc['merged_from']} reports" if doc.get("merged_from") else None),
             ("Spec", versions.get("spec")),
             ("Versions", ", ".join(f"{k} {v}" for k, v in versions.items() if k != "spec" and v))]
    return [(k, v) for k, v in pairs if v not in (None, "")]


def card(name: str, tally: Mapping[str, int], css: str = "") -> dict:
    """A score card: the score, how many judged rules were not failed, and a stacked bar of the statuses."""
    total = sum(tally.values())
    parts, x = [], 0.0
    for status, n in tally.items():
        if n:
            width = 1000 * n / total
            parts.append({"css": status_class(status), "x": f"{x:.2f}", "width": f"{width:.2f}", "n": n,
                          "status": status})
            x += width
    return {"name": name, "css": css, "judged": common.judged(tally), "big": common.percent(tally),
            "kept": tally.get("passed", 0) + tally.get("advisory", 0), "advisories": common.advisories_text(tally),
            "parts": parts, "label": ", ".join(f"{n} {s}" for s, n in tally.items() if n),
            "legend": [{"css": status_class(s), "n": n, "status": s} for s, n in tally.items() if n]}


def cards(doc: Mapping) -> list[dict]:
    per_op = common.counts(doc)
    out = [card(op, tally) for op, tally in per_op.items()]
    if len(per_op) != 1:
        out.append(card("All operations", common.total(per_op), "total"))
    return out


def meanings(doc: Mapping) -> list[dict]:
    """What each status means, for those the document uses."""
    total = common.total(common.counts(doc))
    return [{"css": status_class(s), "status": s, "meaning": common.meaning(s)} for s in common.statuses(doc)
            if total.get(s)]


def level_of(rule: Mapping) -> dict:
    """The rule's level, and the level of the deviation its example shows where that differs."""
    shown = (rule.get("example") or {}).get("level")
    return {"level": rule.get("level"), "deviation": shown if shown and shown != rule.get("level") else None}


def _baseline(doc: Mapping, outcome: dict, anchors: Mapping[str, str]) -> dict:
    messages = {str(r.get("id")): r.get("message") for r in common.rules(doc)}
    status = {str(r.get("id")): common.status_of(r) for r in common.rules(doc)}
    made = ", ".join(x for x in (f"target {outcome['target']}" if outcome.get("target") else "",
                                 f"created {outcome['created']}" if outcome.get("created") else "") if x)
    fate = "they fail this strict run" if outcome.get("strict") else "they fail a run only under --strict"
    sections = [
        ("New failures", outcome["new_failures"], "failed now, not accepted by the baseline", messages, False),
        ("New advisories", outcome["new_advisories"], f"advisory now, not accepted by the baseline: {fate}",
         messages, False),
        ("Fixed since the baseline", outcome["fixed"],
         "in the baseline, passed now: write the baseline again to stop accepting their failure", None, False),
        ("Unconfirmed", outcome["unconfirmed"], "in the baseline, not judged by this run: neither new nor fixed",
         status, False),
        ("Missing from this run", outcome["missing"],
         "in the baseline, not a rule of this run (renamed or removed from the spec)", None, False),
        ("Still accepted", outcome["accepted"], "failed or advisory now, and accepted by the baseline", messages, True),
    ]
    parts = [{"title": title, "count": len(ids), "what": what, "folded": folded,
              "rules": [{"id": rule_id, "anchor": anchors.get(rule_id),
                         "note": common.one_line(note[rule_id], MESSAGE_LIMIT) if note and note.get(rule_id) else ""}
                        for rule_id in ids]}
             for title, ids, what, note, folded in sections if ids]
    return {"file": outcome.get("file"), "made": made, "fails": common.baseline_fails(outcome) or bool(common.partial(doc)),
            "verdict": common.baseline_verdict(outcome, doc), "target_differs": outcome.get("target_differs"),
            "target": outcome.get("target"), "parts": parts}


def _evidence(doc: Mapping, rule: Mapping) -> dict:
    example = rule.get("example")
    out: dict[str, Any] = {"tried": common.tried_text(rule), "panes": []}
    if not example:
        return out

    def clip(text: str) -> str:
        return common.clip(text, EVIDENCE_LIMIT)

    log = common.server_log_lines(example)
    out.update(
        message=example.get("message") or rule.get("message"),
        panes=[[("Request", clip(common.request_text(example))), ("Response", clip(common.response_text(example)))],
               [("curl", clip(common.visible(example.get("curl", "")))),
                ("Reproduce", clip(common.reproduce_text(doc, example, rule.get("id"))))],
               [("Stand-alone reproduction", clip(common.standalone_text(doc, rule.get("id")))),
                ("Its steps", clip(common.steps_text(rule)))]],
        log=clip(common.server_log_text(example)) if log else "", log_lines=common.plural(len(log), "line"))
    return out


def _row(doc: Mapping, rule: Mapping, anchor: str) -> dict:
    status = common.status_of(rule)
    seconds = rule.get("seconds")
    examples = rule.get("examples") or 0
    failures = rule.get("failures") or 0
    return {"anchor": anchor, "status": status, "css": status_class(status), "id": rule.get("id"),
            "search": " ".join(common.one_line(rule.get(k)) for k in ("id", "message", "source", "level")).lower(),
            **level_of(rule), "message": common.one_line(rule.get("message"), MESSAGE_LIMIT),
            "source": rule.get("source"), "failures": failures, "examples": examples,
            "tried": f"{failures}/{examples}" if failures else (str(examples) if examples else ""),
            "time": f"{seconds:.2f} s" if isinstance(seconds, (int, float)) and seconds else "",
            "evidence": _evidence(doc, rule) if status in ("failed", "advisory") else None}


def _categories(doc: Mapping, anchors: Mapping[str, str]) -> list[dict]:
    grouped: dict[str, list[dict]] = {c: [] for c in common.categories(doc)}
    for rule in common.rules(doc):
        grouped[rule.get("category") or "other"].append(rule)
    out = []
    for category, listed in grouped.items():
        listed.sort(key=common.reading_key)
        failed = sum(common.status_of(r) == "failed" for r in listed)
        advisory = sum(common.status_of(r) == "advisory" for r in listed)
        count = common.plural(len(listed), "rule") + (f", {failed} failed" if failed else "") + \
            (f", {common.plural(advisory, 'advisory', 'advisories')}" if advisory else "")
        out.append({"name": category, "anchor": "category-" + "".join(c if c.isalnum() or c in "_-" else "-"
                                                                      for c in category),
                    "count": count, "rules": [_row(doc, r, anchors[str(r.get("id"))]) for r in listed]})
    return out


def render_html(doc: Mapping, baseline: Any = None) -> str:
    """compliance.html for `doc`. `baseline`: a BaselineOutcome (or its as_dict()); when None, the
    document's own "baseline" member if it has one."""
    outcome = common.baseline_dict(doc, baseline)
    anchors = rule_anchors(doc)
    target = doc.get("target") or {}
    total = common.total(common.counts(doc))
    return ENV.get_template("compliance.html").render(
        name=target.get("name") or "?", csp=CSP, css=Markup(CSS), js=Markup(JS), facts=facts(doc),
        unsupported=list((target.get("unsupported_operations") or {}).items()),
        baseline=_baseline(doc, outcome, anchors) if outcome is not None else None,
        fails=common.verdict_fails(doc), verdict=common.run_verdict(doc), cards=cards(doc),
        partial=common.run_verdict(doc) if common.partial(doc) else None,
        notes=[note[0].upper() + note[1:] + "." for note in common.traffic_notes(doc)],
        warnings=[warning for _, warning in common.users_warnings(target)], meanings=meanings(doc),
        boxes=[{"status": s, "n": total.get(s, 0), "css": status_class(s)} for s in common.statuses(doc)],
        categories=_categories(doc, anchors), version=(doc.get("versions") or {}).get("qsconform") or "",
        schema=doc.get("schema_version"))
