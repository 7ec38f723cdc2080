"""compliance.md: the run as GitHub-flavoured Markdown, fit for a CI job summary ($GITHUB_STEP_SUMMARY).

Text from the document goes into three places, each escaped its own way: table cells and list items
(one line, HTML-escaped, Markdown punctuation backslash-escaped, so a `|` or `<script>` from a target
neither breaks the table nor becomes markup), <details> summaries (HTML-escaped: they are raw HTML
blocks) and fenced code blocks (a fence longer than any run of backticks inside). GitHub caps a step
summary at 1 MiB: evidence is clipped, and only the first failures, then advisories, get a <details> block.
"""
from __future__ import annotations

import html
import re
from typing import Any, Mapping

from qsconform.conformance.reporting.render import common

MESSAGE_LIMIT = 160  # characters of a message in a table cell
EVIDENCE_LIMIT = 3000  # characters of each evidence block
DETAILS_LIMIT = 50  # failures and advisories shown with their evidence, failures first
SERVER_LOG_LINES = 40  # lines of a server log shown (its first and last ones); compliance.json has them all

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~#!])")


def text(value: Any, limit: int | None = None) -> str:
    """`value` as inline Markdown that shows exactly its characters: one line, no markup, no table break."""
    escaped = html.escape(common.one_line(value, limit), quote=False)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", escaped)


def code(value: Any, cell: bool = False) -> str:
    """`value` as an inline code span; `cell` when it goes in a table (where GFM wants `|` as `\\|` even in code)."""
    s = common.one_line(value)
    ticks = "`" * (max((len(run) for run in re.findall("`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    if cell:
        s = s.replace("|", "\\|")
    return f"{ticks}{pad}{s}{pad}{ticks}"


def fence(body: str, lang: str = "") -> str:
    """A fenced code block that `body` cannot close early."""
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{body}\n{ticks}"


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> list[str]:
    align = align or ["l"] * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    return [row(header), row(rule)] + [row(r) for r in rows]


# -- sections --------------------------------------------------------------------------------------

def _header(doc: Mapping) -> list[str]:
    target = doc.get("target") or {}
    name = target.get("name") or "?"
    endpoint = target.get("endpoint") if target.get("endpoint") != name else None  # a URL target is named by it
    where = ", ".join(text(v) for v in (endpoint, target.get("region")) if v)
    details = [f"account {text(target['account_id'])}" if target.get("account_id") else "",
               f"namespace {text(target['namespace'])}" if target.get("namespace") else "",
               "**live**" if target.get("live") else ""]
    facts = [f"**Target** {text(name)}" + (f" ({where})" if where else ""),
             *[d for d in details if d],
             f"**seed** {text(doc.get('seed'))}", f"**profile** {text(doc.get('profile'))}",
             f"started {text(doc.get('started'))}", f"{text(doc.get('seconds'))} s"]
    if doc.get("merged_from"):
        facts.append(f"merged from {text(doc['merged_from'])} reports")
    versions = ", ".join(f"{text(k)} {text(v)}" for k, v in (doc.get("versions") or {}).items())
    if common.strict(doc):
        facts.append("**strict** (advisories fail the run)")
    lines = [f"# qsconform compliance: {text(name)}", "", " · ".join(facts), ""]
    if versions:
        lines += [f"**Versions** {versions}", ""]
    unsupported = target.get("unsupported_operations") or {}
    for op, why in unsupported.items():
        lines += [f"> The target does not offer {text(op)}: {text(why)}", ""]
    if common.partial(doc):  # before the score, which counts only the rules judged
        lines += [f"> **{text(common.run_verdict(doc))}** The score counts only the rules judged.", ""]
    return lines


def _users_warnings(doc: Mapping) -> list[str]:
    """After the score: how the target answered beyond the verdicts, and what a reader does about users left
    on the target."""
    notes = [f"> {text(note[0].upper() + note[1:])}." for note in common.traffic_notes(doc)]
    return [line for note in notes for line in (note, "")] + \
        [line for _, warning in common.users_warnings(doc["target"]) for line in (f"> {text(warning)}", "")]


def _scores(doc: Mapping) -> list[str]:
    per_op = common.counts(doc)
    statuses = common.statuses(doc)
    header = ["Operation", "Score", *statuses]
    rows = [[text(op), common.percent(tally), *(str(tally.get(s, 0)) for s in statuses)] for op, tally in per_op.items()]
    total = common.total(per_op)
    rows.append(["**Total**", f"**{common.percent(total)}**", *(f"**{total.get(s, 0)}**" for s in statuses)])
    return ["## Score", "", *table(header, rows, ["l"] + ["r"] * (len(header) - 1)), "",
            "Score = (passed + advisory) / (passed + advisory + failed), per operation: the share of judged rules "
            "the target does not fail (an advisory is not a failure; advisories are counted in their own column). "
            "n/a when no rule was judged.", ""]


def _verdict(doc: Mapping) -> list[str]:
    """Whether the run fails; with a baseline, the baseline section says it instead."""
    return [f"**{text(common.run_verdict(doc))}**", ""]


# The heading of each listing of deviations, and what it says when there is none.
_LISTINGS = {"failed": ("Failed rules", "No rule failed."), "advisory": ("Advisories", "No advisory.")}


def _advisory_note(doc: Mapping) -> str:
    fate = ("this run is strict (--strict): they fail it." if common.strict(doc)
            else "they do not fail the run unless it is strict (--strict).")
    return ("The target deviates only from what an inference (SHOULD) expects; where the rule's own level is "
            f"stronger, the level of the deviation is shown beside it. Listed with their evidence; {fate}")


def _rule_table(doc: Mapping, status: str, outcome: dict | None) -> list[str]:
    title, none = _LISTINGS[status]
    listed = common.by_status(doc, status)
    if not listed:
        return [f"## {title}", "", none, ""]
    header = ["Rule", "Level", "Category", "Message"]
    new = set(outcome["new_failures"] + outcome["new_advisories"]) if outcome else set()
    if outcome:
        header.append("Baseline")
    rows = []
    for rule in listed:
        cells = [code(rule.get("id"), cell=True), text(common.level_text(rule)), text(rule.get("category")),
                 text(rule.get("message"), MESSAGE_LIMIT)]
        if outcome:
            cells.append("**new**" if rule.get("id") in new else "accepted")
        rows.append(cells)
    note = [_advisory_note(doc), ""] if status == "advisory" else []
    return [f"## {title} ({len(listed)})", "", *note, *table(header, rows), ""]


def _evidence(doc: Mapping, listed: list[dict], budget: int, noun: str) -> list[str]:
    """<details> with the evidence of the first `budget` rules of `listed`."""
    if not listed:
        return []
    budget = max(budget, 0)  # failures may have used it all
    lines = ["### Evidence", ""]
    for rule in listed[:budget]:
        lines += _details(doc, rule)
    if len(listed) > budget:
        lines += [f"… and {len(listed) - budget} more {noun}: see compliance.html or compliance.json.", ""]
    return lines


def _details(doc: Mapping, rule: Mapping) -> list[str]:
    summary = (f"<code>{html.escape(common.one_line(rule.get('id')))}</code> "
               f"[{html.escape(common.one_line(common.level_text(rule)))}] "
               f"{html.escape(common.one_line(rule.get('message'), MESSAGE_LIMIT))}")
    lines = [f"<details><summary>{summary}</summary>", "",
             f"**Source:** {text(rule.get('source'))}", "",
             f"{text(common.tried_text(rule))}. Message: {text(rule.get('message'))}", ""]
    example = rule.get("example")
    if not example:
        lines += ["No example was recorded for this rule.", ""]
    else:
        lines += ["Request:", "", fence(common.clip(common.request_text(example), EVIDENCE_LIMIT), "http"), "",
                  "Response:", "", fence(common.clip(common.response_text(example), EVIDENCE_LIMIT), "http"), "",
                  "curl:", "", fence(common.clip(common.visible(example.get("curl", "")), EVIDENCE_LIMIT), "sh"), "",
                  "Reproduce:", "", fence(common.reproduce_text(doc, example, rule.get("id"))), "",
                  "Stand-alone, with nothing of the run (the steps below: setup, the judged request, cleanup):", "",
                  fence(common.standalone_text(doc, rule.get("id")), "sh"), "",
                  fence(common.clip(common.steps_text(rule), EVIDENCE_LIMIT)), ""]
        lines += _server_log(example)
    return lines + ["</details>", ""]


def _server_log(example: Mapping) -> list[str]:
    """What the target's server logged while answering (a server the run started), folded, its middle elided."""
    logged = common.server_log_lines(example)
    if not logged:
        return []
    return [f"<details><summary>Server log ({html.escape(common.plural(len(logged), 'line'))})</summary>", "",
            fence(common.clip(common.server_log_text(example, SERVER_LOG_LINES), EVIDENCE_LIMIT)), "", "</details>", ""]


def _others(doc: Mapping) -> list[str]:
    others = [s for s in common.statuses(doc) if s not in common.JUDGED]
    total = common.total(common.counts(doc))
    rows = [[text(s), str(total.get(s, 0)), text(common.meaning(s))] for s in others]
    lines = ["## Other statuses", "", "Rules the run did not judge, and why.", "",
             *table(["Status", "Rules", "Meaning"], rows, ["l", "r", "l"]), ""]
    for status in others:
        listed = common.by_status(doc, status)
        if not listed:
            continue
        lines += [f"<details><summary>{html.escape(status)} ({len(listed)})</summary>", ""]
        lines += [f"- {code(r.get('id'))}" + (f": {text(r.get('message'), MESSAGE_LIMIT)}" if r.get("message") else "")
                  for r in listed]
        lines += ["", "</details>", ""]
    return lines


def _baseline(doc: Mapping, outcome: dict) -> list[str]:
    messages = {r.get("id"): r.get("message") for r in common.rules(doc)}
    status = {r.get("id"): common.status_of(r) for r in common.rules(doc)}
    new, advisories = outcome["new_failures"], outcome["new_advisories"]
    where = f" {code(outcome['file'])}" if outcome.get("file") else ""
    made = []
    if outcome.get("target"):
        made.append(f"target {text(outcome['target'])}")
    if outcome.get("created"):
        made.append(f"created {text(outcome['created'])}")
    lines = ["## Baseline", "", f"Compared with the baseline{where}" + (f" ({', '.join(made)})" if made else "")
             + f". **{text(common.baseline_verdict(outcome, doc))}**", ""]
    if outcome.get("target_differs"):
        lines += [f"> The baseline was written for target {text(outcome.get('target'))}, "
                  f"not {text((doc.get('target') or {}).get('name'))}.", ""]

    def listing(title: str, rule_ids: list[str], note: str, with_message: bool = True, folded: bool = False):
        if not rule_ids:
            return []
        items = []
        for rule_id in rule_ids:
            item = f"- {code(rule_id)}"
            if with_message and messages.get(rule_id):
                item += f": {text(messages[rule_id], MESSAGE_LIMIT)}"
            elif not with_message and rule_id in status:
                item += f" ({text(status[rule_id])})"
            items.append(item)
        head = f"{title} ({len(rule_ids)})"
        if folded:
            return [f"<details><summary>{html.escape(head)}</summary>", "", note, "", *items, "", "</details>", ""]
        return [f"### {head}", "", note, "", *items, ""]

    lines += listing("New failures", new, "Failed now, not accepted by the baseline.")
    fate = "they fail this strict run." if outcome.get("strict") else "listed; they fail a run only under --strict."
    lines += listing("New advisories", advisories, "Advisory now, not accepted by the baseline: " + fate)
    lines += listing("Fixed since the baseline", outcome["fixed"],
                     "In the baseline, passed now: write the baseline again to stop accepting their failure.",
                     with_message=False)
    lines += listing("Unconfirmed", outcome["unconfirmed"],
                     "In the baseline, but not judged by this run: neither new nor fixed.", with_message=False)
    lines += listing("Missing from this run", outcome["missing"],
                     "In the baseline, but not a rule of this run (renamed or removed from the spec).",
                     with_message=False)
    lines += listing("Still accepted", outcome["accepted"], "Failed or advisory now, and accepted by the baseline.",
                     folded=True)
    return lines


def render_markdown(doc: Mapping, baseline: Any = None) -> str:
    """compliance.md for `doc`. `baseline`: a BaselineOutcome (or its as_dict()); when None, the
    document's own "baseline" member if it has one."""
    outcome = common.baseline_dict(doc, baseline)
    lines = _header(doc)  # then the verdict, the baseline's when there is one: what decides the run comes first
    lines += _baseline(doc, outcome) if outcome is not None else _verdict(doc)
    lines += _scores(doc) + _users_warnings(doc)
    failed, advisories = common.failures(doc), common.advisories(doc)
    lines += _rule_table(doc, "failed", outcome) + _evidence(doc, failed, DETAILS_LIMIT, "failures")
    lines += (_rule_table(doc, "advisory", outcome)
              + _evidence(doc, advisories, DETAILS_LIMIT - len(failed), "advisories"))
    lines += _others(doc)
    return "\n".join(lines).rstrip("\n") + "\n"
