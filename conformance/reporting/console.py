"""What `qsconform run` prints at the end, for people: the baseline's verdict first when there is one, the
failures grouped by symptom (each rule named once, with its level), the advisories and the rules without a
verdict, the first few failures with the command that reruns each and the link to its evidence, the score,
the report paths, and one verdict line last.

The summary is a sequence of small sections (SECTIONS), each a function from the run's View to its lines; a
field or a line more (the cost of a run, the users left behind) is one function more, or one line more in
one of them. Every line fits the terminal's width (COLUMNS; at least MIN_WIDTH): long lists wrap, long
messages are cut around the part that differs, commands continue on the next line with a backslash.

Evidence (requests, answers, curl lines, stand-alone reproductions) is in the reports; `qsconform run -v`
also shows it as each rule is judged. Everything here is read off the compliance document, so the console
and the reports count alike.
"""
from __future__ import annotations

import re
import shlex
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from qsconform.conformance.reporting.render import common

MIN_WIDTH = 60
SCREEN = 76  # lines a summary keeps to when it can (a screen, less pytest's progress lines and section header)
SHOWN_UNJUDGED = 8  # inconclusive or skipped rules listed with why; the reports have all
SHOWN_FIRST = 3  # failures shown with their rerun command and evidence link
ELLIPSIS = "…"

# The letters of pytest's progress line, as the plugin sets them (plugin.pytest_report_teststatus), explained.
PROGRESS = {".": "passed", "F": "failed", "a": "advisory", "b": "accepted", "s": "not judged", "-": "unsent"}


def width_of(given: int | None = None) -> int:
    """The width lines must fit: `given`, else the terminal's (COLUMNS when set), never below MIN_WIDTH."""
    return max(given or shutil.get_terminal_size((100, 24)).columns, MIN_WIDTH)


@dataclass
class View:
    """One run as the console shows it."""

    document: Mapping
    directory: Path | None
    width: int
    interrupted: bool = False
    progress: bool = False  # pytest's progress line was printed above (its letters are explained)
    alluredir: str | None = None  # where allure-pytest results went (--alluredir)
    name_lines: int | None = None  # lines of rule names per group and level (None: all); the rest counted
    first: int = SHOWN_FIRST  # failures shown with their rerun command and evidence link
    beside: bool = False  # a rule's message cut to fit beside its name, rather than whole on a line below it

    @property
    def rules(self) -> list[dict]:
        return sorted(common.rules(self.document), key=lambda r: str(r.get("id")))

    def having(self, *statuses: str) -> list[dict]:
        return [r for r in self.rules if common.status_of(r) in statuses]

    @property
    def baseline(self) -> dict | None:
        return common.baseline_dict(self.document)

    @property
    def accepted(self) -> set[str]:
        return set((self.baseline or {}).get("accepted") or [])

    def packed(self, phrases: list[str], indent: str = "    ") -> list[str]:
        """Phrases joined by commas into lines of the width, each phrase kept whole where it fits a line."""
        lines = [""]
        for phrase in phrases:
            joined = f"{lines[-1]}, {phrase}" if lines[-1].strip() else lines[-1] + phrase
            if len(joined) <= self.width or not lines[-1].strip():
                lines[-1] = joined
            else:
                lines[-1] += ","
                lines.append(indent + phrase)
        return [line for text in lines for line in self.wrap(text, "", indent)]

    def wrap(self, text: str, indent: str = "", more: str = "    ") -> list[str]:
        return textwrap.wrap(text, self.width, initial_indent=indent, subsequent_indent=indent + more,
                             break_on_hyphens=False) or [indent.rstrip()]


# -- messages and commands that fit ---------------------------------------------------------------------------

_QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")


def cut(message: str, limit: int) -> str:
    """A message on one line in `limit` characters. When it is too long and compares two quoted values (`X is
    'a...b', expected 'a...c'`), what they share at either end is left out first, so the part that differs stays."""
    text = common.one_line(message)
    if len(text) <= limit:
        return text
    shorter = _around_the_difference(text, limit)
    return shorter if shorter is not None else text[:max(limit - 1, 0)].rstrip() + ELLIPSIS


def around_fits(message: str, limit: int) -> bool:
    """Whether a message cut around the difference of its quoted values fits `limit` without losing that part."""
    return _around_the_difference(common.one_line(message), limit) is not None


def _around_the_difference(text: str, limit: int) -> str | None:
    quoted = list(_QUOTED.finditer(text))
    if len(quoted) < 2:
        return None
    first, second = quoted[0].group()[1:-1], quoted[1].group()[1:-1]
    head = len(_common_prefix(first, second))
    tail = len(_common_prefix(first[head:][::-1], second[head:][::-1]))
    for keep in range(max(len(first), len(second)), 0, -1):  # the most context either side that fits
        shorter = _around(text, quoted[:2], (first, second), head, tail, keep)
        if len(shorter) <= limit:
            return shorter
    return None


def _around(text: str, matches, values, head: int, tail: int, keep: int) -> str:
    """`text` with each of two quoted values cut to `keep` characters either side of where they differ."""
    pieces, last = [], 0
    for match, value in zip(matches, values):
        start = max(head - keep, 0)
        end = min(max(len(value) - tail + keep, start), len(value))
        inner = (ELLIPSIS if start else "") + value[start:end] + (ELLIPSIS if end < len(value) else "")
        pieces += [text[last:match.start()], match.group()[0], inner, match.group()[-1]]
        last = match.end()
    return "".join(pieces) + text[last:]


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def command_lines(command: str, width: int, indent: str = "    ") -> list[str]:
    """A shell command in lines of `width`, continued with a backslash (still one command when pasted); a flag
    stays with its value."""
    words = shlex.split(command)
    units, i = [], 0
    while i < len(words):
        word = shlex.quote(words[i])
        if words[i].startswith("--") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            word += " " + shlex.quote(words[i + 1])
            i += 1
        units.append(word)
        i += 1
    lines, line = [], indent
    for unit in units:
        if line.strip() and len(line) + 1 + len(unit) + 2 > width:
            lines.append(line + " \\")
            line = indent + "    " + unit
        else:
            line = f"{line} {unit}" if line.strip() else line + unit
    return lines + [line]


# -- sections -------------------------------------------------------------------------------------------------

def header(view: View) -> list[str]:
    doc = view.document
    target = doc["target"]
    options = " ".join(shlex.join([flag] if value is True else [flag, str(item)])
                       for flag, value in (target.get("options") or {}).items()
                       for item in (value if isinstance(value, list) else [value]))
    phrases = [f"qsconform: target {target['name']} ({target['endpoint']})",
               f"endpoint from {target['endpoint_source']}" if target.get("endpoint_source") else "", options, f"seed {doc['seed']}", f"profile {doc['profile']}",
               "strict" if common.strict(doc) else "",
               f"{doc['concurrency']} rules side by side" if (doc.get("concurrency") or 1) > 1 else ""]
    return view.packed([p for p in phrases if p])
def observations(view: View) -> list[str]:
    """One line on the recordings the run judged by (`--observations`, spec/observations/)."""
    effects = view.document.get("observations") or []
    if not effects:
        return []
    files = sorted({e["file"] for e in effects})
    counts = {kind: sum(e["effect"] == kind for e in effects) for kind in ("applies", "confirms", "contradicts")}
    line = (f"observations: {', '.join(files)}: {counts['applies']} rule(s) judged by the recording, "
            f"{counts['confirms']} confirmed")
    if counts["contradicts"]:
        line += f", {counts['contradicts']} CONTRADICT the spec (not applied; see qsconform observations FILE)"
    return view.wrap(line)


def progress_legend(view: View) -> list[str]:
    """What the letters of pytest's progress line mean."""
    if not view.progress:
        return []
    return view.wrap("Progress: " + "  ".join(f"{letter} {what}" for letter, what in PROGRESS.items()))


def baseline(view: View) -> list[str]:
    """With --baseline, first: its verdict, the new and the fixed rules named, the accepted ones folded."""
    outcome = view.baseline
    if outcome is None:
        return []
    lines = [""] + view.wrap(f"Baseline {outcome.get('file') or ''}: {common.baseline_verdict(outcome)}")
    new = list(outcome["new_failures"]) + list(outcome["new_advisories"])
    for title, rule_ids in (("new", new), ("fixed", outcome["fixed"])):
        lines += view.wrap(f"{title} ({len(rule_ids)})" + (": " + ", ".join(rule_ids) if rule_ids else ""), "  ")
    lines += view.wrap(f"accepted ({len(outcome['accepted'])}): still deviating as the baseline accepts; folded "
                       "(compliance.md lists them)", "  ")
    if outcome.get("target_differs"):
        lines += view.wrap(f"the baseline was written for target {outcome.get('target')}", "  ")
    return lines


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


def _grouped(view: View, rules: Sequence[Mapping]) -> list[str]:
    """Rules under their shared symptom, or their very message when several share it (most rules first), by
    operation and level; the rest one by one."""
    groups: dict[str, list[Mapping]] = {}
    for rule in rules:
        message = common.one_line(rule.get("message") or "")
        groups.setdefault(symptom(message) or message, []).append(rule)
    alone = [members[0] for key, members in groups.items() if len(members) == 1 and not symptom(key)]
    lines = []
    for key, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if members[0] in alone:
            continue
        lines += [f"  {cut(key, view.width - 10)} ({len(members)}):"]
        by_place: dict[tuple[str, str], list[str]] = {}
        for rule in members:
            op, _, local = str(rule["id"]).partition(".")
            by_place.setdefault((op, common.level_text(rule)), []).append(local)
        merged: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # operations with the same rules, said once
        for (op, level), names in by_place.items():
            merged.setdefault((level, tuple(names)), []).append(op)
        for (level, names), ops in merged.items():
            lines += listing(view, f"{', '.join(ops)} [{level}]: ", list(names))
    by_operation: dict[str, list[Mapping]] = {}
    for rule in sorted(alone, key=lambda r: str(r["id"])):
        by_operation.setdefault(str(rule["id"]).partition(".")[0], []).append(rule)
    for op, listed in by_operation.items():
        lines.append(f"  {op}:")
        lines += [line for rule in listed for line in _one_rule(view, rule, "    ", op)]
    return lines


def listing(view: View, head: str, names: list[str]) -> list[str]:
    """Names after a head (a member's said once), wrapped; beyond view.name_lines lines, the rest counted ("and 12
    more")."""
    units = braced(names)
    for shown in range(len(units), 0, -1):
        rest = len(names) - sum(n for _, n in units[:shown])
        more = f", and {rest} more" if rest else ""
        lines = view.wrap(head + ", ".join(text for text, _ in units[:shown]) + more, "    ", "  ")
        if view.name_lines is None or len(lines) <= view.name_lines:
            return lines
    return lines  # the first name and the count, however many lines they take


def braced(names: list[str]) -> list[tuple[str, int]]:
    """Rule names with their member said once, as a shell would expand them: AwsAccountId.{max_length,min_length};
    each with how many rules it names."""
    by_member: dict[str, list[str]] = {}
    for name in names:
        member, dot, constraint = name.rpartition(".")
        key = member if dot and "." not in constraint and "-" not in member else name
        by_member.setdefault(key, []).append(constraint if key != name else "")
    out = []
    for member, parts in by_member.items():
        if parts == [""]:
            out.append((member, 1))
        elif len(parts) == 1:
            out.append((f"{member}.{parts[0]}", 1))
        else:
            out.append((f"{member}.{{{','.join(parts)}}}", len(parts)))
    return out


def _one_rule(view: View, rule: Mapping, indent: str = "  ", operation: str | None = None) -> list[str]:
    """A rule (without its operation when the lines above name it) and its message: on one line when the message
    fits beside it (whole, or cut around what differs), else the message, cut to the width, below it."""
    name = str(rule["id"]).partition(".")[2] if operation else rule["id"]
    said = f"{indent}{name} [{common.level_text(rule)}]"
    message = str(rule.get("message", ""))
    room = view.width - len(said) - 1
    if len(common.one_line(message)) <= room or around_fits(message, room) or (view.beside and room >= 20):
        return [f"{said} {cut(message, room)}"]
    return [said[: view.width], indent + "  " + cut(message, view.width - len(indent) - 2)]


def failures(view: View) -> list[str]:
    failed = [r for r in view.having("failed") if r["id"] not in view.accepted]
    if not failed:
        return []
    title = "New failures" if view.baseline is not None else "Failed"
    levels: dict[str, int] = {}
    for rule in failed:
        levels[str(rule.get("level"))] = levels.get(str(rule.get("level")), 0) + 1
    by_level = ", ".join(f"{level} {n}" for level, n in sorted(levels.items()))
    return [""] + view.wrap(f"{title}: {len(failed)} rule(s) ({by_level}), by symptom") + _grouped(view, failed)


def advisories(view: View) -> list[str]:
    listed = [r for r in view.having("advisory") if r["id"] not in view.accepted]
    if not listed:
        return []
    note = "they fail the run (--strict)" if common.strict(view.document) else "they fail only under --strict"
    title = "New advisories" if view.baseline is not None else "Advisory"
    return [""] + view.wrap(f"{title}: {len(listed)} rule(s), from inferences (SHOULD); {note}") \
        + _grouped(view, listed)


def unjudged(view: View) -> list[str]:
    """The rules without a verdict, by why (most rules first)."""
    listed = view.having("inconclusive", "skipped", "unsupported")
    if not listed:
        return []
    why: dict[tuple[str, str], list[str]] = {}
    for rule in listed:
        why.setdefault((common.status_of(rule), common.one_line(rule.get("message", ""))), []).append(rule["id"])
    lines = ["", f"Not judged: {len(listed)} rule(s)"]
    for (status, message), rule_ids in sorted(why.items(), key=lambda kv: -len(kv[1]))[:SHOWN_UNJUDGED]:
        lines += view.wrap(f"{status}, {cut(message, view.width - len(status) - 10)} ({len(rule_ids)}):", "  ")
        lines += view.wrap(", ".join(rule_ids), "    ", "")
    if len(why) > SHOWN_UNJUDGED:
        lines.append(f"  and {len(why) - SHOWN_UNJUDGED} more reasons (in the reports)")
    return lines


def first_failures(view: View) -> list[str]:
    """The first few failures (new ones, with a baseline) with the command that reruns each and its evidence."""
    shown = [r for r in view.having("failed") if r["id"] not in view.accepted] or \
        [r for r in view.having("advisory") if r["id"] not in view.accepted]
    if not shown:
        return []
    first = f"the first {min(len(shown), view.first)}" if len(shown) > view.first else "each"
    lines = [""] + view.wrap(f"To start with, {first}: the command that reruns it, then its evidence")
    report = view.directory / "compliance.html" if view.directory is not None else Path("compliance.html")
    for rule in shown[:view.first]:
        example = rule.get("example") or {}
        command = common.reproduce_text(view.document, example, rule["id"]).splitlines()[-1]
        if command.startswith("qsconform "):
            lines += command_lines(command, view.width, "  ")
        link = f"{report}#{common.anchor(rule['id'])}"
        if len(link) + 4 > view.width:
            link = f"compliance.html#{common.anchor(rule['id'])}"
        lines.append(f"    {link}" if len(link) + 4 <= view.width else link[: view.width])
    return lines


def score(view: View) -> list[str]:
    per_op = common.counts(view.document)
    shown = ("passed", "failed", "advisory")
    width = max((len(op) for op in per_op), default=0)
    lines = ["", "Score: (passed + advisory) / rules judged"]
    for op, tally in list(per_op.items()) + [("total", common.total(per_op))]:
        judged = ", ".join(f"{tally.get(s, 0)} {s}" for s in shown)
        other = sum(n for s, n in tally.items() if s not in shown)
        lines += view.wrap(f"{op:<{width}}  {common.percent(tally):>6}  {judged}"
                           + (f", {other} not judged" if other else ""), "  ", " " * (width + 10))
    return lines


def traffic(view: View) -> list[str]:
    """Throttling and server errors met, and on a live target what the run cost (users, requests)."""
    notes = common.traffic_notes(view.document) + [note for note in [common.cost_note(view.document)] if note]
    return [line for note in notes for line in view.wrap(note, "  ")]


def users(view: View) -> list[str]:
    """Users the run could not clean up (a target the run started says nothing); a command in a warning stays
    one command, continued with a backslash."""
    lines = []
    for _, warning in common.users_warnings(view.document["target"]):
        said, colon, command = warning.partition(": qsconform ")
        lines += view.wrap(said + ":" if command else warning)
        lines += command_lines("qsconform " + command, view.width, "  ") if command else []
    return lines


def baseline_not_written(view: View) -> list[str]:
    """--write-baseline on a partial run: why no baseline was written."""
    said = view.document.get("baseline_not_written")
    return view.wrap(f"Baseline {common.one_line(said)}") if said else []


def report_lines(view: View, main: str, also: list[str], more: str = "") -> list[str]:
    """The Reports: line (with `more`, say where Allure's results went): on one line when it fits, else the
    directory, then the files, continued (a path is never broken where a line could break instead)."""
    assert view.directory is not None, "the Reports: line is shown only for reports written to a directory"
    rest = f" (also {', '.join(also)})" + (f"; {more}" if more else "")
    one = f"Reports: {view.directory / main}{rest}"
    if len(one) <= view.width:
        return [one]
    directory = str(view.directory) + ("" if str(view.directory).endswith("/") else "/")
    return view.wrap(f"Reports: {directory}") + view.wrap(main + rest, "    ", "")


def reports(view: View) -> list[str]:
    if view.directory is None:
        return []
    also = ["compliance.json", "compliance.md", "junit.xml", common.REPRO_SCRIPT]
    allure = f"Allure results: {view.alluredir} (npx allure@3 awesome {view.alluredir})" if view.alluredir else ""
    return report_lines(view, "compliance.html", also, allure)


def verdict(view: View) -> list[str]:
    """The last line: how the run ends, its counts, how many examples it judged, how long it took."""
    return [verdict_line(view.document, view.width, view.interrupted)]


def verdict_line(document: Mapping, width: int = 100, interrupted: bool = False) -> str:
    tally = common.total(common.counts(document))
    outcome = common.baseline_dict(document)
    partial = common.partial({**document, "interrupted": interrupted or document.get("interrupted")})
    if partial:  # "INTERRUPTED: 58 of 111 rules judged" where a complete run says PASS or FAIL
        how, said = partial.split(": ", 1)
        word = f"{how.partition(' (')[0].upper()}: {said}"  # STOPPED EARLY: (the reports say by -x or --maxfail)
    elif interrupted or document.get("interrupted"):
        word = "INTERRUPTED"
    elif outcome is not None:
        word = "FAIL" if common.baseline_fails(outcome) else "PASS"
    else:
        word = "FAIL" if common.run_failed(document) else "PASS"
    if not partial and word != "INTERRUPTED" and common.strict(document):
        word += " (strict)"
    judged = common.judged(tally)
    counts = ", ".join(f"{tally.get(s, 0)} {s}" for s in ("failed", "passed", "advisory"))
    parts = [f"{word}: {counts}" + (f" of {judged} judged" if judged else "")]
    if outcome is not None:  # the baseline decides: its counts first
        parts[0] = (f"{word}: {common.plural(len(outcome['new_failures']), 'new failure')} (baseline: {len(outcome['accepted'])} "
                    f"accepted, {len(outcome['fixed'])} fixed)")
        parts.append(f"{counts} of {judged} judged")
    if partial:  # how far it got first, then what it found so far
        parts[0:1] = [word, counts] if outcome is None else [word]
    examples = sum(int(r.get("examples") or 0) for r in common.rules(document))
    seconds = document.get("seconds")
    parts.append(f"{examples} examples" + (f" in {float(seconds):.1f} s" if isinstance(seconds, (int, float)) else ""))
    while len(parts) > 1 and len("; ".join(parts)) > width:
        parts.pop(1 if len(parts) > 2 else -1)
    return cut("; ".join(parts), width)


Section = Callable[[View], list]
# In reading order; the baseline's verdict first, the verdict of the run last.
SECTIONS: tuple[Section, ...] = (header, observations, progress_legend, baseline, failures, advisories, unjudged,
                                 first_failures, score, traffic, users, baseline_not_written, reports, verdict)


def summary_lines(document: Mapping, directory: Path | None = None, width: int | None = None,
                  interrupted: bool = False, progress: bool = False, alluredir: str | None = None) -> list[str]:
    view = View(document, Path(directory) if directory is not None else None, width_of(width), interrupted, progress,
                alluredir)
    # Every rule named, when that fits a screen; else fewer lines of names per group, and fewer first failures.
    # Last, a message cut beside its rule's name (the reports have it whole).
    for name_lines, first, beside in ((None, SHOWN_FIRST, False), (6, SHOWN_FIRST, False), (4, SHOWN_FIRST, False),
                                      (4, 2, False), (3, 2, False), (2, 2, False), (2, 1, False), (1, 1, False),
                                      (1, 1, True)):
        view.name_lines, view.first, view.beside = name_lines, first, beside
        lines = [line for section in SECTIONS for line in section(view)]
        if len(lines) <= SCREEN:
            break
    return lines
