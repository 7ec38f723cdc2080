"""compare.html: a comparison (the dict written as compare.json) as one self-contained page, every rule or
operation with each distinct difference, recorded against got, and how often. The template is
templates/compare.html; the look is compliance.html's (html.py), with no script at all."""
from __future__ import annotations

from typing import Mapping

from markupsafe import Markup

from qsconform.conformance.compare.diff import first_difference, short_json
from qsconform.conformance.reporting.render import common
from qsconform.conformance.reporting.render import html as page

CSS = page.CSS + """
table.compare td ul.diffs { margin: 0; padding-left: 16px; }
table.compare li.allowed { color: var(--muted); }
table.compare tr.advisory td.level { color: var(--advisory); }
table.compare .same { color: var(--muted); }
col.count { width: 104px; } table.compare col.rule { width: 28%; } table.compare col.level { width: 96px; }
"""
CSP = (f"default-src 'none'; style-src {page.csp_hash(CSS)}; script-src 'none'; img-src data:; base-uri 'none'; "
       "form-action 'none'")


def render_compare(report: Mapping) -> str:
    """compare.html for a comparison's compare.json."""

    t = report["totals"]
    groups = []
    for name, group in report["groups"].items():
        shown = [{"kind": d["kind"], "path": d["path"], "recorded": short_json(d["recorded"], 200),
                  "got": short_json(d["got"], 200), "count": d["count"], "allowed": d["allowed"]}
                 for d in group["differences"]]
        not_compared = ", ".join(f"{group[s]} {s}" for s in ("skipped", "inconclusive") if group.get(s))
        groups.append({"name": name, "anchor": common.anchor(name), "level": group.get("level") or "-",
                       "advisory": group.get("advisory"), "interactions": group["interactions"],
                       "not_compared": not_compared, "differences": shown,
                       "differs": first_difference(group) is not None})
    groups.sort(key=lambda g: (not g["differs"], g["advisory"], g["name"]))
    verdict = ("the target answers differently: the comparison fails" if report["exit_code"]
               else "no difference that counts: the comparison passes")
    totals = (f"{t['compared']} of {t['interactions']} interactions compared ({t['skipped']} skipped, "
              f"{t['inconclusive']} inconclusive); {t['differences']} difference(s), {t['advisory_differences']} "
              f"of them advisory (sent for SHOULD rules), {t['allowed_differences']} allowed")
    warnings = [f"Left behind on {side}: {len(names)} user(s); qsconform sweep --prefix "
                f"{report['prefixes'].get(side, '')} deletes them" for side, names in report["left_behind"].items()
                if names and side not in report.get("started", [])]
    return page.ENV.get_template("compare.html").render(
        target=report["target"], reference=report["reference"], mode=report["mode"], seconds=report.get("seconds"),
        strict=report["strict"], exit_code=report["exit_code"], verdict=verdict, totals=totals, warnings=warnings,
        groups=groups, csp=CSP, css=Markup(CSS))
