"""What every rendering of a compliance document needs: counts, scores, failures, evidence as text.

Pure functions over the document (the dict written as compliance.json); nothing here talks to a target.
Everything that came from a target (messages, headers, bodies) is untrusted: each renderer escapes it
for its own format, and `visible` first makes control characters readable so no format has to carry them.
"""
from __future__ import annotations

import json
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

# The statuses a run settles on, in the order reports show them: the tally code's own list, so that a
# status added there gets a column here without a second list to keep in step.
from qsconform.conformance.judging.results import STATUSES, exit_code_of, fails, partial_text
from qsconform.spec.model import CATEGORIES

# Statuses that judge the target: the score counts them. Every other status says the rule was not
# (fully) exercised: inconclusive, unsupported, skipped, unsent, deselected, and any unknown one.
JUDGED = ("passed", "failed", "advisory")
# The order rules are listed in within a category: what needs a reader first.
READING_ORDER = ("failed", "advisory", "inconclusive", "unsupported", "skipped", "not-run", "passed", "unsent",
                 "deselected")
# Each status in words a reader of a report understands (legends, and a skip that gives no reason).
MEANINGS = {
    "passed": "every example kept the rule",
    "failed": "the target deviates from what a documentation page or the AWS model states (MUST), "
              "or from what the real API was seen doing (OBSERVED): fails the run",
    "advisory": "the target deviates only from what an inference expects (SHOULD): listed with its evidence, "
                "fails the run only under --strict",
    "inconclusive": "no verdict: throttled or failing on retry, or no example reached the rule",
    "unsupported": "the target does not offer the operation",
    "skipped": "needs configuration this run lacks (--iam-arn on a live target, --max-users reached)",
    "unsent": "no source says what the real API answers, so the suite sends nothing for it",
    "not-run": "selected for this run, but never judged to its end: the run was interrupted or stopped early first",
    "deselected": "left out of this run (-k, --shard, --rule)",
}

# C0 and C1 controls except tab, newline and carriage return; lone surrogates; the two non-characters
# XML 1.0 forbids. Shown as \xNN / \uNNNN so the evidence keeps them without breaking any format.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def visible(text: Any) -> str:
    """`text` as a string whose control characters are spelled out (BEL -> \\x07)."""
    s = "" if text is None else str(text)
    return _CONTROL.sub(_spell, s)


def _spell(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: Any, limit: int | None = None) -> str:
    """`visible(text)` on one line (line breaks and tabs become spaces), cut to `limit` characters with an ellipsis."""
    s = " ".join(visible(text).split())
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)].rstrip() + "…"
    return s


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters in compliance.json)"


def rules(doc: Mapping) -> list[dict]:
    return list(doc.get("rules") or [])


def status_of(rule: Mapping) -> str:
    return str(rule.get("status") or "deselected")


def meaning(status: str) -> str:
    """What `status` means, in words; an unknown status (an older or newer writer's) only names itself."""
    return MEANINGS.get(status, f"a status this version of qsconform does not know ({status})")


def operations(doc: Mapping) -> list[str]:
    """Operation names in the order the document lists them (the spec's order)."""
    names: dict[str, None] = dict.fromkeys((doc.get("summary") or {}).get("operations") or {})
    for rule in rules(doc):
        names.setdefault(rule.get("operation") or "?", None)
    return list(names)


def statuses(doc: Mapping) -> list[str]:
    """The known statuses, then any other status the document uses (a newer writer), in order of appearance."""
    extra = dict.fromkeys(status_of(r) for r in rules(doc))
    return list(STATUSES) + [s for s in extra if s not in STATUSES]


def counts(doc: Mapping) -> dict[str, dict[str, int]]:
    """Status counts per operation, tallied from the rules themselves (so tables and listings always agree)."""
    keys = statuses(doc)
    out = {op: dict.fromkeys(keys, 0) for op in operations(doc)}
    for rule in rules(doc):
        out[rule.get("operation") or "?"][status_of(rule)] += 1
    return out


def total(per_operation: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for tally in per_operation.values():
        for status, n in tally.items():
            out[status] = out.get(status, 0) + n
    return out


def judged(tally: Mapping[str, int]) -> int:
    """How many rules of a tally judged the target: passed, failed or advisory."""
    return sum(tally.get(s, 0) for s in JUDGED)


def score(tally: Mapping[str, int]) -> Fraction | None:
    """(passed + advisory) / (passed + advisory + failed): the share of judged rules the target does not fail
    (an advisory is not a failure; it is counted on its own beside the score). None when none was judged."""
    n = judged(tally)
    return None if n == 0 else Fraction(n - tally.get("failed", 0), n)


def percent(tally: Mapping[str, int]) -> str:
    """The score as a percentage to a tenth; 100 % only when nothing failed, 0 % only when nothing was kept."""
    value = score(tally)
    if value is None:
        return "n/a"
    tenths = round(value * 1000)  # exact half-even rounding of a Fraction
    if value < 1:
        tenths = min(tenths, 999)
    if value > 0:
        tenths = max(tenths, 1)
    return f"{tenths // 10}.{tenths % 10} %" if tenths % 10 else f"{tenths // 10} %"


def plural(n: int, word: str, words: str | None = None) -> str:
    """"1 advisory", "3 advisories"."""
    return f"{n} {word if n == 1 else words or word + 's'}"


def advisories_text(tally: Mapping[str, int]) -> str:
    """What goes beside a score: "3 advisories", or "" when there is none."""
    n = tally.get("advisory", 0)
    return plural(n, "advisory", "advisories") if n else ""


def by_status(doc: Mapping, status: str) -> list[dict]:
    """Rules of one status, by operation (document order) then rule id."""
    order = {op: i for i, op in enumerate(operations(doc))}
    listed = [r for r in rules(doc) if status_of(r) == status]
    return sorted(listed, key=lambda r: (order.get(r.get("operation") or "?", 0), str(r.get("id"))))


def failures(doc: Mapping) -> list[dict]:
    return by_status(doc, "failed")


def advisories(doc: Mapping) -> list[dict]:
    return by_status(doc, "advisory")


def reading_key(rule: Mapping) -> tuple[int, str]:
    """Sort key listing rules in READING_ORDER (unknown statuses last), then by id."""
    status = status_of(rule)
    rank = READING_ORDER.index(status) if status in READING_ORDER else len(READING_ORDER)
    return rank, str(rule.get("id"))


def strict(doc: Mapping) -> bool:
    """Whether advisories fail this run (--strict); documents written before "strict" existed were not."""
    return bool(doc.get("strict"))


def run_failed(doc: Mapping) -> bool:
    """What fails a run (exit 1): a failed rule, or, in a strict run, an advisory one."""
    return fails((status_of(r) for r in rules(doc)), strict(doc))


def partial(doc: Mapping) -> str | None:
    """"interrupted: 40 of 111 rules judged" (or stopped early) for a partial run, else None (results.partial_text)."""
    return partial_text(doc)


def verdict_fails(doc: Mapping) -> bool:
    """Whether the run's verdict is bad: it fails (its exit code, results.exit_code_of), or it is partial."""
    return exit_code_of(doc) != 0


def run_verdict(doc: Mapping) -> str:
    """One sentence on whether the run fails, and why (a baseline, when given, has the last word). A partial run
    says so instead: interrupted, it neither passes nor fails; stopped early, it fails."""
    said = partial(doc)
    if said:
        failed = total(counts(doc)).get("failed", 0)
        if doc.get("interrupted"):
            return (f"{said[0].upper()}{said[1:]}; a partial run neither passes nor fails"
                    + (f" ({plural(failed, 'rule')} failed so far)." if failed else "."))
        return f"{said[0].upper()}{said[1:]}; the run fails" + (f" ({plural(failed, 'rule')} failed)." if failed else ".")
    tally = total(counts(doc))
    failed, advisory = tally.get("failed", 0), tally.get("advisory", 0)
    if failed:
        return f"{plural(failed, 'rule')} failed: the run fails."
    if advisory and strict(doc):
        return f"No rule failed, but {plural(advisory, 'advisory', 'advisories')}: the run fails (--strict)."
    if advisory:
        return (f"No rule failed: the run passes. {plural(advisory, 'advisory', 'advisories')} listed: "
                "they fail a run only under --strict.")
    return "No rule failed: the run passes."


def level_text(rule: Mapping) -> str:
    """The rule's level, and the level of the deviation its example shows where that differs (a MUST rule
    can be advisory when the only deviation is from a weaker part of it, such as an inferred error type)."""
    level = str(rule.get("level") or "?")
    shown = (rule.get("example") or {}).get("level")
    return f"{level}, deviation {shown}" if shown and shown != level else level


def anchor(rule_id: Any) -> str:
    """The element id of a rule's row in compliance.html (and matrix.html): "rule-" and the rule id as it is, so
    that compliance.html#rule-RegisterUser.Tags[].Key.required lands on that rule (an id may hold any character
    but whitespace)."""
    return "rule-" + re.sub(r"\s", "-", str(rule_id))


def categories(doc: Mapping) -> list[str]:
    """The known categories in reading order, then any other the document uses."""
    extra = dict.fromkeys(r.get("category") or "other" for r in rules(doc))
    return [c for c in CATEGORIES if c in extra] + [c for c in extra if c not in CATEGORIES]


# -- evidence ------------------------------------------------------------------------------------

def compact_json(value: Any, width: int = 60, level: int = 0) -> str:
    """JSON indented by two, except that a list or object that fits in `width` stays on one line."""
    flat = json.dumps(value, ensure_ascii=False, default=str)
    if not isinstance(value, (dict, list)) or not value or len(flat) + 2 * level <= width:
        return flat
    pad, end = "  " * (level + 1), "  " * level
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {compact_json(v, width, level + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{end}}}"
    items = [pad + compact_json(v, width, level + 1) for v in value]
    return "[\n" + ",\n".join(items) + f"\n{end}]"


def _sent_line(example: Mapping) -> tuple[str, str, list[str]]:
    """(method, path, headers) of the request as the run recorded it when sending; a document written before
    that was recorded has them read off its curl line ("", "", [] when that cannot be read either)."""
    request = example.get("request") or {}
    if request.get("method"):
        headers = request.get("headers") or {}
        return str(request["method"]), str(request.get("path") or ""), [f"{k}: {v}" for k, v in headers.items()]
    return _curl_line(str(example.get("curl") or ""))


def _curl_line(curl: str) -> tuple[str, str, list[str]]:
    import shlex
    from urllib.parse import urlsplit

    try:
        words = shlex.split(curl)
        words = words[words.index("curl"):]
        method, url = words[words.index("-X") + 1], words[words.index("-X") + 2]
    except ValueError:  # no curl line, or not one of ours
        return "", "", []
    parts = urlsplit(url)
    headers = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-H" and "$" not in words[i + 1]]
    return method, parts.path + (f"?{parts.query}" if parts.query else ""), headers


def expected_text(example: Mapping) -> str:
    """What the request expects, in words: a success, or a refusal with its acceptable answers."""
    expected = (example.get("request") or {}).get("expected") or {}
    if expected.get("kind") == "success":
        return "expected: success (a valid request)"
    answers = " or ".join(f"{s} {t}".strip() for s, t in expected.get("answers") or [])
    breaks = f"breaks {expected['rule_id']}" + (f" ({expected['operator']})" if expected.get("operator") else "") \
        if expected.get("rule_id") else "invalid"
    return f"expected: a refusal, {answers or 'any'}; the request {breaks}"


def request_text(example: Mapping) -> str:
    """The request as HTTP: method and path, the headers that matter, the body as sent (non-ASCII kept as is),
    then what it expects on its own line."""
    request = example.get("request") or {}
    method, path, headers = _sent_line(example)
    head = [f"{method} {path}" if method else f"{request.get('operation', '?')} {compact_json(request.get('path_params'))}"]
    body = request["raw_body"] if "raw_body" in request else compact_json(request.get("body"))
    return visible("\n".join(head + headers + ["", body, "", expected_text(example)]))


def response_text(example: Mapping) -> str:
    """The answer as an HTTP message: status line, headers, blank line, body as received."""
    response = example.get("response") or {}
    lines = [f"HTTP {response.get('status', '?')}"]
    headers = response.get("headers") or {}
    if isinstance(headers, Mapping):
        lines += [f"{name}: {value}" for name, value in headers.items()]
    body = response.get("body")
    if body not in (None, ""):
        lines += ["", body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)]
    return visible("\n".join(lines))


def server_log_lines(example: Mapping) -> list[str]:
    """What the target's server logged while answering the example's request (a server the run started)."""
    lines = example.get("server_log") or []
    return [str(line) for line in lines] if isinstance(lines, list) else str(lines).splitlines()


def server_log_text(example: Mapping, limit: int | None = None) -> str:
    """The server log as text; beyond `limit` lines, its first lines and its last ones (where a traceback
    ends with the exception), saying how many were left out."""
    lines = server_log_lines(example)
    if limit is not None and len(lines) > limit:
        head = max(limit // 4, 1)
        tail = max(limit - head, 1)
        lines = lines[:head] + [f"… {len(lines) - head - tail} lines left out (all in compliance.json) …"] + lines[-tail:]
    return visible("\n".join(lines))


def reproduce_text(doc: Mapping, example: Mapping, rule_id: str | None = None) -> str:
    """How to regenerate the failing example: that rule, against that target, with that profile and seed."""
    from qsconform.conformance.tools.options import rerun_command

    seed = example.get("seed", doc.get("seed"))
    if seed is None:
        return "seed: none recorded"
    target = doc.get("target") or {}
    command = rerun_command(target.get("name"), doc.get("profile"), seed, rule_id, target.get("options"))
    if example.get("shrink_cut_short"):
        shrunk = "smallest example found before the profile's shrinking time was up (--profile thorough shrinks to the end)"
    elif example.get("minimal"):
        shrunk = "minimal example (shrunk by Hypothesis)"
    else:
        shrunk = "first failing example (not shrunk)"
    return visible(f"seed: {seed} — {shrunk}\n{command}")


# -- the stand-alone reproduction (conformance/reporting/reproduction.py makes the steps; render/script.py, repro.sh) ------

REPRO_SCRIPT = "repro.sh"
FIXED_PORTS = {"reference": 5055, "moto": 5000}  # where start_command starts a target the run started itself


class ReproError(Exception):
    """A reproduction that cannot be given (no such rule in the report, no request recorded): one line."""


def steps_of(rule: Mapping) -> list[dict]:
    """A rule's reproduction steps, from its evidence; a report written before steps existed gives its judged
    request alone."""
    example = rule.get("example") or {}
    if example.get("steps"):
        return [dict(s) for s in example["steps"]]
    request = example.get("request") or {}
    method, path, _ = _sent_line(example)
    if not request.get("operation") or not method:
        raise ReproError(f"{rule.get('id')}: the report records no request to send")
    body = request["raw_body"] if "raw_body" in request else json.dumps(request.get("body"), separators=(",", ":"))
    return [{"role": "judged", "operation": request["operation"], "path_params": request.get("path_params") or {},
             "method": method, "path": path, "body": body, "content_type": "application/json",
             "why": "the request judged (this report has no other steps: written by an older qsconform)"}]


def body_of(step: Mapping) -> bytes | None:
    """The exact bytes a step sends (None: no body)."""
    import base64

    if "body_base64" in step:
        return base64.b64decode(step["body_base64"])
    return str(step["body"]).encode("utf-8") if "body" in step else None


def start_command(doc: Mapping) -> str | None:
    """How to start the target a run started itself (moto, the reference server, with its faults and options) on a
    fixed port, for a reproduction; None for a target the run did not start."""
    import shlex

    target = doc.get("target") or {}
    name, options = target.get("name"), target.get("options") or {}
    if name == "reference":
        words = ["python3", "-m", "qsconform.conformance.reference", "--port", str(FIXED_PORTS["reference"])]
        if target.get("region") and target["region"] != "us-east-1":
            words += ["--region", str(target["region"])]
        for flag in ("--fault", "--reference-option"):
            for value in options.get(flag) or []:
                words += [flag, str(value)]
        return shlex.join(words)
    if name == "moto":
        return f"moto_server -H 127.0.0.1 -p {FIXED_PORTS['moto']}   # pip install 'moto[server]'"
    return None


def repro_target(doc: Mapping) -> str:
    """The URL a reproduction is sent to by default: the target's own (a URL, aws), or where start_command starts it."""
    target = doc.get("target") or {}
    name = str(target.get("name") or "")
    if name in FIXED_PORTS:
        return f"http://127.0.0.1:{FIXED_PORTS[name]}"
    return str(target.get("endpoint") or name)


def standalone_text(doc: Mapping, rule_id: Any) -> str:
    """How to reproduce a rule with nothing of the run, from the report's directory: start the target (when the run
    started its own) on a fixed port, then repro.sh or qsconform repro."""
    import shlex

    url = shlex.quote(repro_target(doc))
    rule = shlex.quote(str(rule_id))
    start = start_command(doc)
    lines = ["# from the report's directory" + ("; the run started its own target: start the same one first" if start
                                                else "")]
    lines += [start] if start else []
    lines += [f"QSC_TARGET={url} sh {REPRO_SCRIPT} {rule}", f"qsconform repro {rule} --report . --target {url}"]
    return visible("\n".join(lines))


def steps_text(rule: Mapping) -> str:
    """The steps of a rule's reproduction, one line each: role, operation, method and path, the answer the run got."""
    try:
        steps = steps_of(rule)
    except ReproError as exc:
        return visible(str(exc))
    out = []
    for n, step in enumerate(steps, 1):
        got = f"  -> {step['answered']}" if step.get("answered") else ""
        out.append(f"{n}. {step.get('role')}: {step.get('operation')} {step.get('method')} {step.get('path')}{got}  "
                   f"({step.get('why')})")
    return visible("\n".join(out))


def tried_text(rule: Mapping) -> str:
    """"2 of 8 examples failed" ("deviated" for an advisory: its examples did not fail the rule)."""
    verb = "deviated" if status_of(rule) == "advisory" else "failed"
    return f"{rule.get('failures', 0)} of {rule.get('examples', 0)} examples {verb}"


def evidence_text(doc: Mapping, rule: Mapping) -> str:
    """All the evidence of one failed or advisory rule as plain text (for JUnit and terminals)."""
    example = rule.get("example")
    head = [f"{rule.get('id')} [{level_text(rule)}] {rule.get('category')}",
            f"source: {rule.get('source', '')}",
            f"{tried_text(rule)}: {rule.get('message', '')}"]
    if not example:
        return visible("\n".join(head))
    return "\n".join([visible("\n".join(head)), "", "request:", request_text(example), "",
                      "response:", response_text(example), "", "curl:", visible(example.get("curl", "")), "",
                      reproduce_text(doc, example, rule.get("id")), "", "stand-alone:",
                      standalone_text(doc, rule.get("id")), steps_text(rule)])


# -- baseline outcome ------------------------------------------------------------------------------

BASELINE_KEYS = ("new_failures", "new_advisories", "accepted", "fixed", "unconfirmed", "missing")


def baseline_dict(doc: Mapping, baseline: Any = None) -> dict | None:
    """The baseline outcome as a dict: from `baseline` (a BaselineOutcome or its as_dict()),
    else from the document's own "baseline" member; None when there is none."""
    if baseline is None:
        baseline = doc.get("baseline")
    if baseline is None:
        return None
    if hasattr(baseline, "as_dict"):
        baseline = baseline.as_dict()
    out = dict(baseline)
    for key in BASELINE_KEYS:
        out[key] = list(out.get(key) or [])
    return out


def baseline_fails(outcome: Mapping) -> bool:
    """A run measured against a baseline fails on a new failure, or, when strict, on a new advisory."""
    return bool(outcome["new_failures"] or (outcome.get("strict") and outcome["new_advisories"]))


def baseline_verdict(outcome: Mapping, doc: Mapping | None = None) -> str:
    """One sentence on whether the run passes its baseline (`outcome` as baseline_dict gives it); a partial run
    (`doc` interrupted or stopped early) says so first."""
    if doc is not None and partial(doc):
        return run_verdict(doc)
    new, advisories = len(outcome["new_failures"]), len(outcome["new_advisories"])
    listed = plural(advisories, "new advisory", "new advisories")
    if new:
        return f"{plural(new, 'new failure')}: the run fails."
    if advisories and outcome.get("strict"):
        return f"No new failures, but {listed}: the run fails (--strict)."
    if advisories:
        return f"No new failures: the run passes the baseline. {listed} listed: they fail a run only under --strict."
    return "No new failures: the run passes the baseline."


def traffic_notes(doc: Mapping) -> list[str]:
    """Sentences on how the target answered beyond the verdicts: documented server errors retried, and
    throttling (how often, and the send rate the run settled at)."""
    out = []
    retried = doc.get("server_errors_retried") or {}
    if retried.get("requests"):
        out.append(f"{retried['requests']} request(s) answered a documented server error and were retried")
    lost = doc.get("answers_lost") or {}
    if lost:
        out.append(f"{sum(lost.values())} answer(s) to requests that change the target were lost on the way "
                   f"({', '.join(f'{op} {n}' for op, n in sorted(lost.items()))}): what each did was read back, and "
                   "the request sent again or its example set aside, never judged by a retry")
    throttling = doc.get("throttling") or {}
    if throttling.get("throttled"):
        rate = f"; the send rate settled at {throttling['rate']:g} requests/s" if throttling.get("rate") else ""
        out.append(f"throttled {throttling['throttled']} time(s), {throttling.get('gave_up', 0)} request(s) "
                   f"still throttled after every retry{rate}")
    return out


def cost_note(doc: Mapping) -> str | None:
    """One sentence on what a run against a live target cost it (compliance.json's `cost`); None elsewhere."""
    cost = doc.get("cost") or {}
    if not (doc.get("target") or {}).get("live") or not cost:
        return None
    roles = ", ".join(f"{role} {n}" for role, n in (cost.get("users_registered_by_role") or {}).items())
    held = cost.get("examples_held_back") or 0
    return (f"cost: {cost.get('users_registered', 0)} user(s) registered{f' ({roles})' if roles else ''}, "
            f"{cost.get('users_deleted', 0)} deleted, {cost.get('requests_sent', 0)} requests sent"
            + (f"; {held} example(s) held back within --max-users {cost.get('max_users')}" if held else ""))


SHOWN_USERS = 5  # names a warning shows; compliance.json lists them all


def shown_name(name: Any) -> str:
    """A user name as a reader can see and copy it: control characters spelled out, an empty name or one
    with spaces at its ends quoted."""
    text = visible(str(name)).replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text if text and text == text.strip() else json.dumps(str(name))


SHOWN_IN_A_LINE = 3  # names a line of one kind shows, each cut to NAME_WIDTH characters
NAME_WIDTH = 40


def few(names: list) -> str:
    """A few names of a kind, each escaped and cut short, so that a line stays readable (the reports and
    compliance.json have them all, whole)."""
    shown = ", ".join(one_line(shown_name(n), NAME_WIDTH) for n in names[:SHOWN_IN_A_LINE])
    return shown + (f" and {len(names) - SHOWN_IN_A_LINE} more" if len(names) > SHOWN_IN_A_LINE else "")


def sweep_command(target: Mapping) -> str:
    """The exact command that deletes what a run left on this target (only users under its prefix)."""
    import shlex

    words = ["qsconform", "sweep", "--target", str(target.get("name") or target.get("endpoint"))]
    if target.get("live"):
        words.append("--live")
    for flag, key in (("--region", "region"), ("--account-id", "account_id")):
        if target.get(key):
            words += [flag, str(target[key])]
    if target.get("namespace") not in (None, "default"):
        words += ["--namespace", str(target["namespace"])]
    return shlex.join(words + ["--prefix", str(target.get("user_prefix"))])


def users_warnings(target: Mapping, shown: int = SHOWN_USERS) -> list[tuple[str, str]]:
    """(key, sentence) on users a run could not clean up: those it created and could not delete
    ("users_left_behind", with the sweep command that deletes them), and those an interrupted request may
    have registered outside its prefix ("users_maybe_created": left alone, maybe not its own). Nothing for
    a target the run started and stopped itself. At most `shown` names, escaped; compliance.json has all."""
    from qsconform.conformance.wire.targets import EMBEDDED

    if target.get("name") in EMBEDDED:  # the run started the server and stopped it: its users went with it
        return []

    def names(users: list) -> str:
        listed = ", ".join(shown_name(u) for u in users[:shown])
        return listed + (f" and {len(users) - shown} more (all in compliance.json)" if len(users) > shown else "")

    out = []
    left = list(target.get("users_left_behind") or [])
    kinds = list(target.get("users_left_behind_kinds") or [])
    if kinds:  # one line per kind of name, with why (a gap of the target's, a lost answer...)
        if left:
            out.append(("users_left_behind", f"Could not delete {len(left)} user(s) this run created, by kind; what a "
                                             f"name reaches is deleted by: {sweep_command(target)}"))
        for kind in kinds:
            listed = list(kind.get("names") or [])
            if listed:
                out.append(("users_left_behind", f"  {len(listed)}: {one_line(kind['kind'])}: {few(listed)}"))
            else:
                out.append(("users_left_behind", f"{kind.get('count', 0)} {one_line(kind['kind'])}"))
    elif left:
        out.append(("users_left_behind", f"Could not delete {len(left)} user(s) this run created: {names(left)}. "
                                         f"To delete them: {sweep_command(target)}"))
    maybe = list(target.get("users_maybe_created") or [])
    if maybe:
        out.append(("users_maybe_created", f"An interrupted request may have registered {len(maybe)} user(s) outside the run's prefix, "
                   f"left untouched (they may not be this run's): {names(maybe)}"))
    return out


def write_whole(path: Path, text: str) -> Path:
    """Write whole or not at all: a CI step reading the file never sees half of it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path
