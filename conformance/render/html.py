"""compliance.html: one self-contained page (inline CSS and JS, no URL fetched), viewable offline.

Every string from the document is HTML-escaped where it is written (rule messages, headers and bodies
come from the target, which may answer `<script>`); the page's own style and script are pinned by a
Content-Security-Policy of their SHA-256 hashes, so even markup that slipped through could neither run
nor load anything. The script only filters rows that are already in the page: without it, the page
shows everything.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any, Mapping

from qsconform.conformance.render import common

MESSAGE_LIMIT = 300  # characters of a message in a table row (the evidence has it whole)
EVIDENCE_LIMIT = 20000  # characters of each evidence block

# Each status's colour, (light, dark); a status without one is drawn in the colour of "other".
COLOURS = {"passed": ("#1a7f37", "#3fb950"), "failed": ("#cf222e", "#f85149"), "advisory": ("#bc4c00", "#db6d28"),
           "inconclusive": ("#9a6700", "#d29922"), "unsupported": ("#8250df", "#ab7df8"),
           "skipped": ("#6e7781", "#9198a1"), "unsent": ("#0969da", "#4493f8"), "not-run": ("#bf8700", "#e3b341"),
           "deselected": ("#9ba6b1", "#656c76"),
           "other": ("#6e7781", "#9198a1")}


def _colours(dark: bool) -> str:
    return " ".join(f"--{s}: {COLOURS.get(s, COLOURS['other'])[int(dark)]};" for s in (*common.STATUSES, "other"))


CSS = """
:root { --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa; --line: #d1d9e0; --code: #f6f8fa;
  """ + _colours(False) + """ }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23; --line: #3d444d; --code: #151b23;
    """ + _colours(True) + """ }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
h1 { font-size: 24px; margin: 0 0 4px; }
h1 .target { color: var(--muted); font-weight: 400; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h2 small, h3 small { color: var(--muted); font-weight: 400; font-size: 13px; }
h3 { font-size: 15px; margin: 16px 0 4px; }
code, pre, .id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 4px 24px; margin: 12px 0; }
dl.facts div { min-width: 0; }
dl.facts dt { color: var(--muted); font-size: 12px; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.warning { border-left: 4px solid var(--inconclusive); background: var(--panel); padding: 8px 12px; margin: 8px 0; }
.note { color: var(--muted); margin: 8px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 16px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 16px; background: var(--panel); }
.card .op { font-weight: 600; }
.card .big { font-size: 44px; font-weight: 700; line-height: 1.1; margin: 4px 0; }
.card .big.none { color: var(--muted); }
.card .judged { color: var(--muted); }
.card .advisories { color: var(--advisory); font-weight: 600; }
.card svg { display: block; width: 100%; height: 10px; margin: 10px 0 6px; border-radius: 5px; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 12px; font-size: 12px; color: var(--muted); }
.legend .n { font-weight: 600; color: var(--fg); }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 4px; }
.filter { position: sticky; top: 0; z-index: 1; background: var(--bg); padding: 10px 0; border-bottom: 1px solid var(--line);
  display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
.filter input[type=search] { flex: 1 1 280px; max-width: 480px; padding: 6px 10px; font: inherit; color: var(--fg);
  background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
.filter label { white-space: nowrap; cursor: pointer; }
.filter label.zero { opacity: .5; }
.filter button { font: inherit; font-size: 12px; padding: 4px 10px; color: var(--fg); background: var(--panel);
  border: 1px solid var(--line); border-radius: 6px; cursor: pointer; }
#shown { color: var(--muted); }
section.category, tbody.rule { scroll-margin-top: 96px; }
nav.categories { margin: 8px 0; color: var(--muted); }
nav.categories a { color: inherit; margin-right: 16px; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; padding: 4px 8px; border-bottom: 1px solid var(--line); }
td { padding: 5px 8px; vertical-align: top; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
td.id { overflow-wrap: break-word; }
tbody.rule > tr:first-child > td { border-bottom: 0; }
tbody.rule > tr:last-child > td { border-bottom: 1px solid var(--line); }
tr.evidence > td { padding-top: 0; padding-bottom: 4px; }
col.status { width: 120px; } col.rule { width: 32%; } col.level { width: 112px; } col.examples { width: 88px; } col.time { width: 72px; }
td.level { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; white-space: nowrap; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
.source { display: block; color: var(--muted); font-size: 12px; }
details.evidence > summary { cursor: pointer; color: var(--failed); font-size: 13px; font-weight: 600; padding: 0 0 2px; }
details.evidence.advisory > summary { color: var(--advisory); }
details.server-log { margin: 6px 0; }
details.server-log > summary { cursor: pointer; color: var(--muted); font-size: 12px; font-weight: 600;
  text-transform: uppercase; letter-spacing: .04em; }
.deviation { display: block; color: var(--advisory); font-size: 12px; }
details.meanings { margin: 8px 0; }
details.meanings > summary { cursor: pointer; color: var(--muted); }
dl.statuses { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; font-size: 13px; }
dl.statuses dt { white-space: nowrap; }
dl.statuses dd { margin: 0; color: var(--muted); }
.panes { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin: 6px 0; }
.pane { min-width: 0; }
.pane h4 { margin: 6px 0 2px; font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
pre { margin: 0; padding: 8px 10px; background: var(--code); border: 1px solid var(--line); border-radius: 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 420px; overflow: auto; }
.verdict { font-weight: 600; padding: 8px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); }
.verdict.bad { border-left: 4px solid var(--failed); }
.verdict.good { border-left: 4px solid var(--passed); }
ul.ids { margin: 4px 0 8px; padding-left: 20px; }
ul.ids li { overflow-wrap: anywhere; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
""" + "".join(
    f".s-{s} {{ background: var(--{s}); }} .f-{s} {{ fill: var(--{s}); }}\n" for s in common.STATUSES
) + ".s-other { background: var(--other); } .f-other { fill: var(--other); }\n"

JS = """
(function () {
  var query = document.getElementById("q");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-status]"));
  var rules = Array.prototype.slice.call(document.querySelectorAll("tbody.rule"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.category"));
  var shown = document.getElementById("shown");
  function apply() {
    var text = query.value.trim().toLowerCase();
    var wanted = {};
    boxes.forEach(function (box) { wanted[box.getAttribute("data-status")] = box.checked; });
    var count = 0;
    rules.forEach(function (rule) {
      var visible = wanted[rule.getAttribute("data-status")] !== false &&
        (text === "" || rule.getAttribute("data-search").indexOf(text) !== -1);
      rule.hidden = !visible;
      if (visible) { count += 1; }
    });
    sections.forEach(function (section) {
      section.hidden = section.querySelector("tbody.rule:not([hidden])") === null;
    });
    shown.textContent = count + " of " + rules.length + " rules shown";
  }
  function expand(open) {
    Array.prototype.forEach.call(document.querySelectorAll("details.evidence"), function (d) { d.open = open; });
  }
  query.addEventListener("input", apply);
  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  document.getElementById("expand").addEventListener("click", function () { expand(true); });
  document.getElementById("collapse").addEventListener("click", function () { expand(false); });
  apply();
  // A link to a rule (#its-id) shows it, its evidence open, even when the filter hid it.
  function openLinked() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (target === null) { return; }
    if (target.hidden) {
      query.value = "";
      boxes.forEach(function (box) { box.checked = true; });
      apply();
    }
    var details = target.querySelector("details.evidence");
    if (details !== null) { details.open = true; }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", openLinked);
  openLinked();
  document.documentElement.setAttribute("data-js", "ready");
})();
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CSP = (f"default-src 'none'; style-src {_sha256(CSS)}; script-src {_sha256(JS)}; "
       "img-src data:; base-uri 'none'; form-action 'none'")


def e(value: Any) -> str:
    """Any value as HTML text or attribute value: control characters spelled out, markup escaped."""
    return html.escape(common.visible(value), quote=True)


def _breakable(rule_id: Any) -> str:
    """A rule id that wraps after its dots, not inside a member name (<wbr> is not copied with the text)."""
    return e(rule_id).replace(".", ".<wbr>")


def _status_class(status: str) -> str:
    return status if status in common.STATUSES else "other"


def _anchors(doc: Mapping) -> dict[str, str]:
    """A stable, unique element id per rule id (fragment-safe characters only)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for rule in common.rules(doc):
        rule_id = str(rule.get("id"))
        base = "rule-" + re.sub(r"[^A-Za-z0-9_.-]", "-", rule_id)
        anchor, n = base, 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        out.setdefault(rule_id, anchor)
    return out


# -- sections --------------------------------------------------------------------------------------

def _header(doc: Mapping) -> str:
    target = doc.get("target") or {}
    versions = doc.get("versions") or {}
    facts = [("Endpoint", target.get("endpoint")), ("Endpoint from", target.get("endpoint_source")),
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
    out = [f'<h1>qsconform compliance <span class="target">{e(target.get("name") or "?")}</span></h1>',
           '<dl class="facts">']
    out += [f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in facts if v not in (None, "")]
    out.append("</dl>")
    for op, why in (target.get("unsupported_operations") or {}).items():
        out.append(f'<p class="warning">The target does not offer {e(op)}: {e(why)}</p>')
    if common.partial(doc):  # before the score, which counts only the rules judged
        out.append(f'<p class="warning partial"><b>{e(common.run_verdict(doc))}</b> '
                   "The score counts only the rules judged.</p>")
    return "\n".join(out)


def _users_warnings(doc: Mapping) -> str:
    """After the score: how the target answered beyond the verdicts, and what a reader does about users left
    on the target."""
    notes = [f'<p class="note">{e(note[0].upper() + note[1:])}.</p>' for note in common.traffic_notes(doc)]
    return "\n".join(notes + [f'<p class="warning">{e(warning)}</p>' for _, warning in common.users_warnings(doc["target"])])


def _bar(tally: Mapping[str, int]) -> str:
    """A stacked bar of the statuses, as inline SVG (no style attribute: the CSP forbids them)."""
    total = sum(tally.values())
    if total == 0:
        return ""
    parts, x = [], 0.0
    for status, n in tally.items():
        if n:
            width = 1000 * n / total
            parts.append(f'<rect class="f-{_status_class(status)}" x="{x:.2f}" y="0" width="{width:.2f}" height="10">'
                         f"<title>{n} {e(status)}</title></rect>")
            x += width
    label = ", ".join(f"{n} {s}" for s, n in tally.items() if n)
    return (f'<svg viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" aria-label="{e(label)}">'
            + "".join(parts) + "</svg>")


def _card(name: str, tally: Mapping[str, int], css: str = "") -> str:
    judged = common.judged(tally)
    kept = tally.get("passed", 0) + tally.get("advisory", 0)
    big = common.percent(tally)
    advisories = common.advisories_text(tally)
    legend = "".join(f'<span><span class="dot s-{_status_class(s)}"></span><span class="n">{n}</span> {e(s)}</span>'
                     for s, n in tally.items() if n)
    return (f'<div class="card {css}"><div class="op">{e(name)}</div>'
            f'<div class="big{" none" if judged == 0 else ""}">{e(big)}</div>'
            f'<div class="judged">{kept} of {judged} judged rules not failed</div>'
            + (f'<div class="advisories">{e(advisories)}</div>' if advisories else "")
            + f'{_bar(tally)}<div class="legend">{legend}</div></div>')


def _scores(doc: Mapping) -> str:
    per_op = common.counts(doc)
    cards = [_card(op, tally) for op, tally in per_op.items()]
    if len(per_op) != 1:
        cards.append(_card("All operations", common.total(per_op), "total"))
    return ('<section class="scores"><h2>Score <small>(passed + advisory) / (passed + advisory + failed): '
            'an advisory is not a failure, and is counted on its own</small></h2><div class="cards">'
            + "".join(cards) + "</div></section>")


def _verdict(doc: Mapping) -> str:
    """Whether the run fails; with a baseline, the baseline section says it instead."""
    return f'<p class="verdict {"bad" if common.verdict_fails(doc) else "good"}">{e(common.run_verdict(doc))}</p>'


def _legend(doc: Mapping) -> str:
    """What each status means, for those this document uses."""
    total = common.total(common.counts(doc))
    items = "".join(f'<dt><span class="dot s-{_status_class(s)}"></span>{e(s)}</dt><dd>{e(common.meaning(s))}</dd>'
                    for s in common.statuses(doc) if total.get(s))
    return ('<details class="meanings"><summary>What the statuses mean</summary>'
            f'<dl class="statuses">{items}</dl></details>')


def _id_list(rule_ids: list[str], anchors: Mapping[str, str], note: Mapping[str, str] | None = None) -> str:
    items = []
    for rule_id in rule_ids:
        label = f"<code>{e(rule_id)}</code>"
        if rule_id in anchors:
            label = f'<a href="#{e(anchors[rule_id])}">{label}</a>'
        extra = f" — {e(common.one_line(note[rule_id], MESSAGE_LIMIT))}" if note and note.get(rule_id) else ""
        items.append(f"<li>{label}{extra}</li>")
    return '<ul class="ids">' + "".join(items) + "</ul>"


def _baseline(doc: Mapping, outcome: dict, anchors: Mapping[str, str]) -> str:
    messages = {str(r.get("id")): r.get("message") for r in common.rules(doc)}
    status = {str(r.get("id")): common.status_of(r) for r in common.rules(doc)}
    new = outcome["new_failures"]
    made = ", ".join(x for x in (f"target {outcome['target']}" if outcome.get("target") else "",
                                 f"created {outcome['created']}" if outcome.get("created") else "") if x)
    where = f" <code>{e(outcome['file'])}</code>" if outcome.get("file") else ""
    bad = common.baseline_fails(outcome) or bool(common.partial(doc))
    verdict = f'<p class="verdict {"bad" if bad else "good"}">{e(common.baseline_verdict(outcome, doc))}</p>'
    out = ['<section class="baseline"><h2>Baseline</h2>',
           f"<p>Compared with the baseline{where}{f' ({e(made)})' if made else ''}.</p>", verdict]
    if outcome.get("target_differs"):
        out.append(f'<p class="warning">The baseline was written for target {e(outcome.get("target"))}, '
                   f'not {e((doc.get("target") or {}).get("name"))}.</p>')
    sections = [
        ("New failures", new, "failed now, not accepted by the baseline", messages, False),
        ("New advisories", outcome["new_advisories"],
         "advisory now, not accepted by the baseline: " + ("they fail this strict run" if outcome.get("strict")
                                                          else "they fail a run only under --strict"), messages, False),
        ("Fixed since the baseline", outcome["fixed"],
         "in the baseline, passed now: write the baseline again to stop accepting their failure", None, False),
        ("Unconfirmed", outcome["unconfirmed"], "in the baseline, not judged by this run: neither new nor fixed",
         status, False),
        ("Missing from this run", outcome["missing"],
         "in the baseline, not a rule of this run (renamed or removed from the spec)", None, False),
        ("Still accepted", outcome["accepted"], "failed or advisory now, and accepted by the baseline", messages, True),
    ]
    for title, rule_ids, what, note, folded in sections:
        if not rule_ids:
            continue
        head = f"{e(title)} <small>{len(rule_ids)} — {e(what)}</small>"
        body = _id_list(rule_ids, anchors, note)
        out.append(f"<details><summary><b>{head}</b></summary>{body}</details>" if folded else f"<h3>{head}</h3>{body}")
    out.append("</section>")
    return "\n".join(out)


def _filter(doc: Mapping) -> str:
    total = common.total(common.counts(doc))
    boxes = "".join(f'<label{"" if total.get(s) else " class=zero"}><input type="checkbox" checked data-status="{e(s)}"> '
                    f'<span class="dot s-{_status_class(s)}"></span>{e(s)} ({total.get(s, 0)})</label>'
                    for s in common.statuses(doc))
    return ('<div class="filter"><input type="search" id="q" placeholder="Filter by rule id, message or source" '
            f'aria-label="Filter rules">{boxes}<button type="button" id="expand">Expand evidence</button>'
            '<button type="button" id="collapse">Collapse</button><span id="shown"></span></div>')


def _evidence(doc: Mapping, rule: Mapping) -> str:
    example = rule.get("example")
    status = common.status_of(rule)
    opening = f'<details class="evidence {e(status)}"><summary>Evidence: {e(common.tried_text(rule))}</summary>'
    if not example:
        return opening + "<p>No example was recorded for this rule.</p></details>"

    def pane(title: str, body: str) -> str:
        return f'<div class="pane"><h4>{e(title)}</h4><pre>{html.escape(common.clip(body, EVIDENCE_LIMIT))}</pre></div>'

    message = example.get("message") or rule.get("message")
    return (opening + f'<div class="pane"><h4>Message</h4><pre>{e(message)}</pre></div>'
            f'<div class="panes">{pane("Request", common.request_text(example))}'
            f'{pane("Response", common.response_text(example))}</div>'
            f'<div class="panes">{pane("curl", common.visible(example.get("curl", "")))}'
            f'{pane("Reproduce", common.reproduce_text(doc, example, rule.get("id")))}</div>'
            f'{_server_log(example)}</details>')


def _server_log(example: Mapping) -> str:
    """What the target's server logged while answering (a server the run started), folded: it can be long."""
    lines = common.server_log_lines(example)
    if not lines:
        return ""
    return (f'<details class="server-log"><summary>Server log ({common.plural(len(lines), "line")}, '
            f"logged while answering this request)</summary>"
            f"<pre>{html.escape(common.clip(common.server_log_text(example), EVIDENCE_LIMIT))}</pre></details>")


def _level(rule: Mapping) -> str:
    """The rule's level, and under it the level of the deviation its example shows where that differs."""
    level = e(rule.get("level"))
    shown = (rule.get("example") or {}).get("level")
    if shown and shown != rule.get("level"):
        level += f'<span class="deviation" title="the level of the deviation shown">deviation {e(shown)}</span>'
    return level


def _rule_rows(doc: Mapping, rule: Mapping, anchor: str) -> str:
    status = common.status_of(rule)
    search = " ".join(common.one_line(rule.get(k)) for k in ("id", "message", "source", "level")).lower()
    seconds = rule.get("seconds")
    time_text = f"{seconds:.2f} s" if isinstance(seconds, (int, float)) and seconds else ""
    examples = rule.get("examples") or 0
    failures = rule.get("failures") or 0
    tried = f"{failures}/{examples}" if failures else (str(examples) if examples else "")
    rows = [f'<tbody class="rule" id="{e(anchor)}" data-status="{e(status)}" data-search="{e(search)}">'
            f'<tr><td><span class="badge s-{_status_class(status)}">{e(status)}</span></td>'
            f'<td class="id">{_breakable(rule.get("id"))}</td><td class="level">{_level(rule)}</td>'
            f'<td>{e(common.one_line(rule.get("message"), MESSAGE_LIMIT))}'
            f'<span class="source">{e(rule.get("source"))}</span></td>'
            f'<td class="num" title="{failures} of {examples} examples failed">{e(tried)}</td>'
            f'<td class="num">{e(time_text)}</td></tr>']
    if status in ("failed", "advisory"):
        rows.append(f'<tr class="evidence"><td colspan="6">{_evidence(doc, rule)}</td></tr>')
    rows.append("</tbody>")
    return "".join(rows)


def _categories(doc: Mapping, anchors: Mapping[str, str]) -> str:
    grouped: dict[str, list[dict]] = {c: [] for c in common.categories(doc)}
    for rule in common.rules(doc):
        grouped[rule.get("category") or "other"].append(rule)
    nav, sections = [], []
    for category, listed in grouped.items():
        listed.sort(key=common.reading_key)
        failed = sum(common.status_of(r) == "failed" for r in listed)
        advisory = sum(common.status_of(r) == "advisory" for r in listed)
        count = common.plural(len(listed), "rule") + (f", {failed} failed" if failed else "") + \
            (f", {common.plural(advisory, 'advisory', 'advisories')}" if advisory else "")
        anchor = "category-" + re.sub(r"[^A-Za-z0-9_-]", "-", category)
        nav.append(f'<a href="#{e(anchor)}">{e(category)}</a>')
        rows = "".join(_rule_rows(doc, r, anchors[str(r.get("id"))]) for r in listed)
        sections.append(
            f'<section class="category" id="{e(anchor)}"><h2>{e(category)} <small>{e(count)}</small></h2>'
            '<table><colgroup><col class="status"><col class="rule"><col class="level"><col class="message">'
            '<col class="examples"><col class="time"></colgroup>'
            "<thead><tr><th>Status</th><th>Rule</th><th>Level</th><th>Message / source</th>"
            '<th class="num">Examples</th><th class="num">Time</th></tr></thead>'
            f"{rows}</table></section>")
    return '<nav class="categories">Categories: ' + "".join(nav) + "</nav>\n" + "\n".join(sections)


def render_html(doc: Mapping, baseline: Any = None) -> str:
    """compliance.html for `doc`. `baseline`: a BaselineOutcome (or its as_dict()); when None, the
    document's own "baseline" member if it has one."""
    outcome = common.baseline_dict(doc, baseline)
    anchors = _anchors(doc)
    name = (doc.get("target") or {}).get("name") or "?"
    versions = doc.get("versions") or {}
    body = [_header(doc), _scores(doc), _users_warnings(doc)]
    body.append(_baseline(doc, outcome, anchors) if outcome is not None else _verdict(doc))
    body += [_legend(doc), _filter(doc), _categories(doc, anchors),
             f"<footer>Written by qsconform {e(versions.get('qsconform') or '')} from compliance.json "
             f"(schema {e(doc.get('schema_version'))}). Score = (passed + advisory) / (passed + advisory + failed)."
             "</footer>"]
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>qsconform compliance: {e(name)}</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + f"\n<script>{JS}</script>\n</body>\n</html>\n")
