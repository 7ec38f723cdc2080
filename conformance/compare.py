"""Compare a target with a recording (a cassette of real AWS) or with another target, answer by answer.

Both sides are normalised the same way (qsconform.conformance.cassette), so what is left
to differ is what a client would notice: the status, the error type, the
content type, the request id header, the shape of the body (its JSON paths
and their types) and the values it echoes. A difference some servers are
entitled to make is allowed by path, with its reason: DEFAULT_ALLOWANCES plus
an optional JSON file `[{"path": "User.Active", "reason": "..."}]`.

A difference in an interaction sent for a rule of level SHOULD (an inference: no source states what
the real API answers) is advisory: listed, but it changes the exit code only with --strict.

Do no harm: names come from a fresh prefix, a user is deleted at the end
only if this comparison created it, and on a live target a recorded request
that would update or delete a user not made here is skipped.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qsconform.conformance.cassette import (ACCOUNT, USER_REFERENCE, Cassette, CassetteError, Denormaliser, Normaliser,
                                  UserNames, load_cassette)
from qsconform.conformance.users import gone
from qsconform.spec.model import fails_run
from qsconform.spec.request import Expected, Request

EXIT_SAME, EXIT_DIFFERENT, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
KINDS = ("status", "error_type", "content_type", "missing_member", "extra_member", "type", "value")
# Paths of what is not in the body, so that an allowance can name them like members.
STATUS, ERROR_TYPE, CONTENT_TYPE, BODY = "$status", "$error_type", "$content_type", "$body"
REQUEST_ID_HEADER = "$header.x-amzn-RequestId"
READ_ONLY = re.compile(r"^(Describe|List|Get|Search)")
STANDARD_PREFIX_LENGTH = len("qsc-12345678-")
log = logging.getLogger("qsconform.compare")


class CompareError(Exception):
    """Bad input to a comparison, such as a malformed allowance file (the CLI exits 2)."""


# -- allowances ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Allowance:
    """A difference some faithful servers make: at `path` (`*` matches anything, list indexes are ignored),
    of the given kinds (all when empty), for one operation or all."""

    path: str
    reason: str
    kinds: frozenset[str] = frozenset()
    operation: str | None = None

    def covers(self, diff: "Difference", operation: str) -> bool:
        if self.operation is not None and self.operation != operation:
            return False
        if self.kinds and diff.kind not in self.kinds:
            return False
        pattern = ".*".join(re.escape(part) for part in self.path.split("*"))
        return re.fullmatch(pattern, re.sub(r"\[\d+\]", "[]", diff.path)) is not None


_WORDING = ("error messages are worded by each server and change over time (observed #7); "
            "clients match on error type")
DEFAULT_ALLOWANCES: tuple[Allowance, ...] = (
    Allowance("Message", _WORDING, frozenset({"value"})),
    Allowance("message", _WORDING, frozenset({"value"})),
    Allowance(BODY, "the text of a non-JSON page (an HTML error page) is the server's own; its content type "
                    "and status are compared", frozenset({"value"})),
)
# RequestId, PrincipalId, UserInvitationUrl, timestamps, account and region need no allowance:
# the cassette normalises them to placeholders on both sides, so only their presence and type are compared.


def load_allowances(path: str | Path) -> list[Allowance]:
    """An allowance file: a JSON list of {"path", "reason", "kinds"?, "operation"?}.

    CompareError (one line) when it is missing or malformed."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompareError(f"allowance file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise CompareError(f"allowance file {path} is not readable JSON: {type(exc).__name__}") from None
    if not isinstance(document, list):
        raise CompareError(f"allowance file {path} must hold a JSON list")
    out = []
    for i, item in enumerate(document):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]:
            raise CompareError(f"allowance file {path}: entry {i} needs a path")
        if not isinstance(item.get("reason"), str) or not item["reason"].strip():
            raise CompareError(f"allowance file {path}: entry {i} ({item['path']}) needs a reason")
        kinds = item.get("kinds", [])
        if not isinstance(kinds, list) or not set(kinds) <= set(KINDS):
            raise CompareError(f"allowance file {path}: entry {i}: kinds must be a list of {', '.join(KINDS)}")
        operation = item.get("operation")
        if operation is not None and not isinstance(operation, str):
            raise CompareError(f"allowance file {path}: entry {i}: operation must be text")
        out.append(Allowance(item["path"], item["reason"].strip(), frozenset(kinds), operation))
    return out


# -- differences ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    kind: str  # one of KINDS
    path: str
    recorded: Any
    got: Any
    allowed: str | None = None  # the reason, when an allowance covers it

    def as_dict(self) -> dict:
        return {"kind": self.kind, "path": self.path, "recorded": self.recorded, "got": self.got,
                "allowed": self.allowed}

    def describe(self) -> str:
        what = {"missing_member": f"{self.path} missing (recorded {_short(self.recorded)})",
                "extra_member": f"{self.path} extra ({_short(self.got)})"}.get(
            self.kind, f"{self.kind} {self.path}: recorded {_short(self.recorded)}, got {_short(self.got)}")
        return what + (f" [allowed: {self.allowed}]" if self.allowed else "")


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(value: Any, path: str = "") -> dict[str, set[str]]:
    """Every JSON path of a value with the types found there; list items share the path `name[]`."""
    out: dict[str, set[str]] = {}

    def walk(v: Any, p: str) -> None:
        if p:
            out.setdefault(p, set()).add(json_type(v))
        if isinstance(v, dict):
            for k, item in v.items():
                walk(item, f"{p}.{k}" if p else str(k))
        elif isinstance(v, list):
            for item in v:
                walk(item, f"{p}[]")

    walk(value, path)
    return out


def _under(path: str, parents: set[str]) -> bool:
    return any(path.startswith(p + ".") or path.startswith(p + "[") for p in parents)


def differences(recorded: Mapping[str, Any], got: Mapping[str, Any]) -> list[Difference]:
    """What tells two normalised answers apart (cassette.Normaliser.response dicts)."""
    out = []
    for kind, path in (("status", STATUS), ("error_type", ERROR_TYPE), ("content_type", CONTENT_TYPE)):
        if recorded.get(kind) != got.get(kind):
            out.append(Difference(kind, path, recorded.get(kind), got.get(kind)))
    if recorded["request_id_header"] != got["request_id_header"]:
        kind = "missing_member" if recorded["request_id_header"] else "extra_member"
        out.append(Difference(kind, REQUEST_ID_HEADER, recorded["request_id_header"], got["request_id_header"]))
    r_kind, g_kind = recorded["body_kind"], got["body_kind"]
    if r_kind != g_kind or (r_kind == "json" and json_type(recorded["body"]) != json_type(got["body"])):
        out.append(Difference("type", BODY, _body_type(recorded), _body_type(got)))
        return out
    if r_kind == "text":
        if recorded["body"] != got["body"]:
            out.append(Difference("value", BODY, recorded["body"], got["body"]))
        return out
    if r_kind == "json":
        out += _shape_differences(recorded["body"], got["body"])
        out += _value_differences(recorded["body"], got["body"], "")
    return out


def _body_type(answer: Mapping[str, Any]) -> str:
    return json_type(answer["body"]) if answer["body_kind"] == "json" else answer["body_kind"]


def _shape_differences(recorded: Any, got: Any) -> list[Difference]:
    r, g = shape(recorded), shape(got)
    out, missing, extra = [], set(), set()
    for path in sorted(r.keys() - g.keys()):
        if not _under(path, missing):  # report the member, not each of its parts
            missing.add(path)
            out.append(Difference("missing_member", path, sorted(r[path]), None))
    for path in sorted(g.keys() - r.keys()):
        if not _under(path, extra):
            extra.add(path)
            out.append(Difference("extra_member", path, None, sorted(g[path])))
    for path in sorted(r.keys() & g.keys()):
        if r[path] != g[path]:
            out.append(Difference("type", path, sorted(r[path]), sorted(g[path])))
    return out


def _value_differences(recorded: Any, got: Any, path: str) -> list[Difference]:
    """Values that differ where both sides have a value of the same type (shape covers the rest)."""
    if json_type(recorded) != json_type(got):
        return []
    if isinstance(recorded, dict):
        out = []
        for key in recorded.keys() & got.keys():
            out += _value_differences(recorded[key], got[key], f"{path}.{key}" if path else key)
        return sorted(out, key=lambda d: d.path)
    if isinstance(recorded, list):
        if len(recorded) != len(got):
            return [Difference("value", path, recorded, got)]
        out = []
        for i, (a, b) in enumerate(zip(recorded, got)):
            out += _value_differences(a, b, f"{path}[{i}]")
        return out
    return [] if recorded == got else [Difference("value", path or BODY, recorded, got)]


def judge(diffs: Iterable[Difference], operation: str, allowances: Iterable[Allowance]) -> list[Difference]:
    """The differences with the reason of the first allowance that covers each."""
    allowances = list(allowances)
    out = []
    for d in diffs:
        reason = next((a.reason for a in allowances if a.covers(d, operation)), None)
        out.append(Difference(d.kind, d.path, d.recorded, d.got, reason) if reason else d)
    return out


# -- the report -----------------------------------------------------------------------------

@dataclass
class Outcome:
    """One interaction: compared (with its differences), skipped or inconclusive (with why)."""

    index: int
    operation: str
    rule_id: str | None
    request: dict
    status: str = "compared"  # compared | skipped | inconclusive
    why: str = ""
    differences: list[Difference] = field(default_factory=list)
    reference_status: int | None = None  # the recorded status, or the reference target's
    level: str | None = None  # the level of the rule it was sent for; None when not sent for a rule of the spec

    @property
    def group(self) -> str:
        return self.rule_id or self.operation

    @property
    def advisory(self) -> bool:
        """Its differences are advisory: the rule it was sent for is an inference (SHOULD)."""
        return self.level is not None and not fails_run(self.level)

    def as_dict(self) -> dict:
        return {"index": self.index, "operation": self.operation, "rule_id": self.rule_id, "group": self.group,
                "level": self.level, "advisory": self.advisory,
                "request": self.request, "status": self.status, "why": self.why,
                "differences": [d.as_dict() for d in self.differences]}


def rule_level(spec, rule_id: str | None) -> str | None:
    """The level of the rule an interaction was sent for (its cassette label); None for a label that is
    not a rule of the spec, such as "RegisterUser.valid" or a setup step."""
    if not rule_id:
        return None
    try:
        return spec.rule(rule_id).level
    except KeyError:
        return None


@dataclass
class CompareReport:
    mode: str  # replay | live
    target: str
    reference: str  # the cassette, or the reference target
    outcomes: list[Outcome] = field(default_factory=list)
    left_behind: dict[str, list[str]] = field(default_factory=dict)  # side -> user names not deleted
    prefixes: dict[str, str] = field(default_factory=dict)  # side -> the user-name prefix used there (for sweep)
    strict: bool = False  # advisory differences change the exit code too

    @property
    def unallowed(self) -> list[Difference]:
        return [d for o in self.outcomes for d in o.differences if not d.allowed]

    @property
    def advisories(self) -> list[Difference]:
        """Unallowed differences in interactions sent for SHOULD rules: listed, deciding only when strict."""
        return [d for o in self.outcomes if o.advisory for d in o.differences if not d.allowed]

    @property
    def allowed(self) -> list[Difference]:
        return [d for o in self.outcomes for d in o.differences if d.allowed]

    @property
    def deciding(self) -> list[Difference]:
        """The unallowed differences that set the exit code: all of them when strict, else all but advisories."""
        return [d for o in self.outcomes if self.strict or not o.advisory for d in o.differences if not d.allowed]

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERENT if self.deciding else EXIT_SAME

    def groups(self) -> dict[str, dict]:
        """Per rule id (or operation): how many interactions, and each distinct difference with its count."""
        out: dict[str, dict] = {}
        for o in self.outcomes:
            g = out.setdefault(o.group, {"interactions": 0, "skipped": 0, "inconclusive": 0, "level": o.level,
                                         "advisory": o.advisory, "differences": {}})
            g["interactions"] += 1
            if o.status != "compared":
                g[o.status] += 1
            for d in o.differences:
                key = (d.kind, re.sub(r"\[\d+\]", "[]", d.path), _short(d.recorded, 200), _short(d.got, 200))
                entry = g["differences"].setdefault(key, {**d.as_dict(), "count": 0})
                entry["count"] += 1
        for g in out.values():
            g["differences"] = sorted(g["differences"].values(),
                                      key=lambda e: (e["allowed"] is not None, KINDS.index(e["kind"]), e["path"]))
        return dict(sorted(out.items()))

    def as_dict(self) -> dict:
        return {"mode": self.mode, "target": self.target, "reference": self.reference,
                "exit_code": self.exit_code, "strict": self.strict,
                "totals": {"interactions": len(self.outcomes),
                           "compared": sum(o.status == "compared" for o in self.outcomes),
                           "skipped": sum(o.status == "skipped" for o in self.outcomes),
                           "inconclusive": sum(o.status == "inconclusive" for o in self.outcomes),
                           "differences": len(self.unallowed), "advisory_differences": len(self.advisories),
                           "allowed_differences": len(self.allowed)},
                "groups": self.groups(), "interactions": [o.as_dict() for o in self.outcomes],
                "prefixes": self.prefixes, "left_behind": self.left_behind}

    def summary(self) -> str:
        t = self.as_dict()["totals"]
        verdict = "no difference" if not self.unallowed else f"{t['differences']} difference(s)"
        if self.advisories:
            fate = "they count, --strict" if self.strict else "they do not change the exit code without --strict"
            verdict += f" ({t['advisory_differences']} advisory: sent for SHOULD rules; {fate})"
        lines = [f"compare {self.target} with {self.reference}: {verdict} in {t['compared']} compared "
                 f"interaction(s); {t['allowed_differences']} allowed, {t['skipped']} skipped, "
                 f"{t['inconclusive']} inconclusive"]
        for name, g in self.groups().items():
            shown = [e for e in g["differences"] if not e["allowed"]]
            if not shown:
                continue
            advisory = f", advisory ({g['level']})" if g["advisory"] else ""
            lines.append(f"  {name} ({g['interactions']} interaction(s)){advisory}")
            for e in shown:
                d = Difference(e["kind"], e["path"], e["recorded"], e["got"])
                lines.append(f"    {d.describe()}" + (f"  x{e['count']}" if e["count"] > 1 else ""))
        for side, names in self.left_behind.items():
            if names:
                shown = _some(names)
                sweep = "qsconform sweep" + (f" --prefix {self.prefixes[side]}" if side in self.prefixes else "")
                lines.append(f"  left behind on {side}: {shown} (delete them, or run {sweep})")
        return "\n".join(lines)

    def write(self, report_dir: str | Path) -> Path:
        directory = Path(report_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "compare.json"
        path.write_text(json.dumps(self.as_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path


# -- one side of a comparison -----------------------------------------------------------------

def fresh_prefix(length: int | None = None) -> str:
    """A new run prefix ("qsc-<hex>-") of `length` characters, so that names keep their recorded length;
    the standard length when `length` leaves too little room to be unique."""
    length = length if length and length >= STANDARD_PREFIX_LENGTH else STANDARD_PREFIX_LENGTH
    return f"qsc-{secrets.token_hex(length)[:length - 5]}-"


def setup_operation_name(spec) -> str | None:
    """The operation that creates users: the one other operations name as their setup."""
    names = {op.raw["target"]["setup_operation"] for op in spec.operations.values() if op.raw.get("target")}
    return names.pop() if len(names) == 1 else None


class Side:
    """A target being compared: its transport, names under its own prefix, and the users it got created."""

    def __init__(self, transport, target, prefix: str, suffixes: Mapping[str, str], label: str):
        self.transport, self.target, self.label = transport, target, label
        self.spec = transport.spec
        self.users = UserNames(prefix, dict(suffixes))
        self.denormalise = Denormaliser(target.account_id, target.region, self.users)
        self.normalise = Normaliser(target.account_id, target.region, self.users, target.redactor)
        self.setup_operation = setup_operation_name(self.spec) or "RegisterUser"
        self.created: dict[str, str] = {}  # user name -> namespace, in order of creation
        self.in_flight: dict[str, str] = {}  # a registration sent but not yet answered: it may have created its user
        self.unnamed = 0  # registrations accepted without a user name to delete the user by

    def refusal(self, interaction: Mapping[str, Any]) -> str | None:
        """Why a recorded request must not be sent here: on a live target, touching a user not made here."""
        operation = interaction["operation"]
        if not self.target.live or operation == self.setup_operation or READ_ONLY.match(operation):
            return None
        name = interaction["path_params"].get("UserName")
        if not isinstance(name, str):
            return None
        real = self.denormalise.text(name)
        if real.startswith(self.users.prefix) or real in self.created:
            return None
        return f"{operation} of a user this comparison did not create, on a live target"

    def exchange(self, interaction: Mapping[str, Any]) -> dict:
        """Send one recorded request, made real for this target; the normalised answer."""
        operation = interaction["operation"]
        params = self.denormalise.value(interaction["path_params"])
        query = self.denormalise.value(interaction["query"]) if interaction.get("query") else None
        body = self.denormalise.body_bytes(interaction)
        name = _sent_user_name(body) if operation == self.setup_operation else None
        if name is not None and name.startswith(self.users.prefix):  # only our names: it cannot be someone else's
            self.in_flight[name] = params.get("Namespace", "default")
        response = self._send(operation, params, query, interaction, body)
        # on an exception the name stays in flight: the registration may have happened, so cleanup deletes it
        self._track(operation, params, body, response)
        self.in_flight.pop(name, None)
        return self.normalise.response(response)

    def _send(self, operation: str, params: dict, query: dict | None, interaction: Mapping[str, Any], body: bytes):
        if operation in self.spec.operations and not query:
            return self.transport.send(Request(operation, params, None, Expected("success"), raw_body=body))
        if interaction.get("raw_body"):
            raise CassetteError(f"{operation} is not an operation of the spec, so its body must be JSON")
        payload = self.denormalise.value(interaction["body"]) if "body" in interaction else None
        return self.transport.call(operation, params, payload, query=query)

    def _track(self, operation: str, params: Mapping[str, Any], body: bytes, response) -> None:
        if not 200 <= response.status < 300:
            return
        if operation == self.setup_operation:
            answered = response.json_body if response.is_json and isinstance(response.json_body, dict) else {}
            name = (answered.get("User") or {}).get("UserName") if isinstance(answered.get("User"), dict) else None
            name = name if isinstance(name, str) else _sent_user_name(body)
            if isinstance(name, str):
                self.created[name] = params.get("Namespace", "default")
            else:
                self.unnamed += 1
        elif operation == "DeleteUser":
            self.created.pop(params.get("UserName"), None)

    def cleanup(self) -> list[str]:
        """Delete every user this side got created (or may have, when interrupted); the names left behind."""
        left = []
        self.created.update(self.in_flight)
        self.in_flight.clear()
        for name, namespace in reversed(list(self.created.items())):
            try:
                r = self.transport.call("DeleteUser", {"AwsAccountId": self.target.account_id,
                                                       "Namespace": namespace, "UserName": name})
                is_gone = gone(r)
            except Exception:  # a cleanup that fails reports the name; it must not hide the first error
                is_gone = False
            if is_gone:
                del self.created[name]
            else:
                left.append(self.target.redactor.redact(name))
        if self.unnamed:
            left.append(f"{self.unnamed} user(s) registered with no UserName in the answer or the request")
        return left


def _sent_user_name(body: bytes) -> str | None:
    try:
        name = json.loads(body).get("UserName")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return name if isinstance(name, str) else None


def _describe_target(target) -> str:
    from qsconform.conformance.targets import describe
    return describe(target.name, target.endpoint)


def _request_view(interaction: Mapping[str, Any]) -> dict:
    keep = ("operation", "path_params", "query", "body", "raw_body")
    return {k: interaction[k] for k in keep if k in interaction and interaction[k] is not None}


def _compare_one(index: int, interaction: Mapping[str, Any], sides: list[Side], recorded: dict | None,
                 allowances: list[Allowance]) -> Outcome:
    """Send an interaction to every side; compare the first answer (or the recording) with the last."""
    from qsconform.conformance.transport import Throttled

    outcome = Outcome(index, interaction["operation"], interaction.get("rule_id"), _request_view(interaction))
    outcome.level = rule_level(sides[0].spec, outcome.rule_id)
    for side in sides:
        why = side.refusal(interaction)
        if why:
            outcome.status, outcome.why = "skipped", why
            return outcome
    answers = []
    for side in sides:
        try:
            answers.append(side.exchange(interaction))
        except Throttled as exc:
            outcome.status, outcome.why = "inconclusive", f"{side.label}: {exc}"
            return outcome
    reference = recorded if recorded is not None else answers[0]
    outcome.reference_status = reference["status"]
    outcome.differences = judge(differences(reference, answers[-1]), outcome.operation, allowances)
    return outcome


def _cleanup(sides: list[Side], report: CompareReport) -> None:
    """Delete what each side created. Called from `finally`: while an exception is on its way out,
    no report will list what is left behind, so a warning does."""
    stopping = sys.exc_info()[1] is not None
    for side in sides:
        report.prefixes[side.label] = side.users.prefix
        left = side.cleanup()
        if left:
            report.left_behind[side.label] = left
        if left and stopping:
            log.warning("left behind on %s: %s; qsconform sweep --prefix %s deletes what is under the prefix",
                        side.label, _some(left), side.users.prefix)


def _some(names: list[str], at_most: int = 5) -> str:
    """A few names, quoted so that control characters show escaped, and how many more."""
    shown = ", ".join(_short(n) for n in names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


# -- replay and live comparison ---------------------------------------------------------------

def replay(cassette: Cassette, transport, target=None, prefix: str | None = None, *,
           allowances: Iterable[Allowance] | None = None) -> CompareReport:
    """Send a cassette's requests in order to `target` under fresh names; compare each answer with the recorded one.

    Users created here are deleted at the end, also when the replay stops on an exception.
    """
    target = target if target is not None else transport.target
    allowances = list(DEFAULT_ALLOWANCES if allowances is None else allowances)
    side = Side(transport, target, prefix or fresh_prefix(cassette.prefix_length), cassette.users,
                _describe_target(target))
    report = CompareReport("replay", side.label, f"cassette {cassette.path or '(in memory)'}"
                           + (f" (recorded from {cassette.source})" if cassette.source else ""))
    try:
        for i, interaction in enumerate(cassette.interactions):
            report.outcomes.append(_compare_one(i, interaction, [side], interaction["response"], allowances))
    finally:
        _cleanup([side], report)
    return report


def live(requests: Iterable[Request], transport_x, transport_ref, *, drawn_with=None,
         allowances: Iterable[Allowance] | None = None, prefix_x: str | None = None,
         prefix_ref: str | None = None) -> CompareReport:
    """Send each request to both targets (the reference first), names distinct per target but the same
    references; compare the answers. `drawn_with` is the StrategyConfig the requests were made with
    (its account id and user prefix are what the requests hold). Users a request assumes exist are
    registered first, as a run does; every user created on either side is deleted at the end."""
    from qsconform.strategies.config import StrategyConfig

    drawn_with = drawn_with if drawn_with is not None else StrategyConfig()
    allowances = list(DEFAULT_ALLOWANCES if allowances is None else allowances)
    spec = transport_ref.spec
    draw = Normaliser(drawn_with.account_id, None, UserNames(drawn_with.user_prefix))
    interactions = []
    for r in requests:
        interaction = draw.request(r.operation, r.path_params, r.body_bytes(), None)
        interaction["rule_id"] = r.expected.rule_id
        interactions.append((r, interaction))
    length = len(drawn_with.user_prefix)
    sides = [Side(transport_ref, transport_ref.target, prefix_ref or fresh_prefix(length), draw.users.suffixes,
                  _describe_target(transport_ref.target)),
             Side(transport_x, transport_x.target, prefix_x or fresh_prefix(length), draw.users.suffixes,
                  _describe_target(transport_x.target))]
    report = CompareReport("live", sides[1].label, sides[0].label)
    present: set[str] = set()
    try:
        for r, interaction in interactions:
            for step in _preparation(spec, r, interaction, drawn_with.namespace, present):
                outcome = _compare_one(len(report.outcomes), step, sides, None, allowances)
                report.outcomes.append(outcome)
                _note_presence(spec, step, outcome, present)
            outcome = _compare_one(len(report.outcomes), interaction, sides, None, allowances)
            report.outcomes.append(outcome)
            _note_presence(spec, interaction, outcome, present)
    finally:
        _cleanup(sides, report)
    return report


def _preparation(spec, request: Request, interaction: dict, namespace: str, present: set[str]) -> list[dict]:
    """What a run sends before a request (qsconform.conformance.run.Run._prepare): the user an operation acts on is
    registered first (the spec's "target" setup); a user a valid registration names is deleted first."""
    op = spec[request.operation]
    setup_op = setup_operation_name(spec)
    if request.operation != setup_op:
        name = interaction["path_params"].get("UserName")
    else:
        name = interaction["body"].get("UserName") if isinstance(interaction.get("body"), dict) else None
    if not isinstance(name, str) or not USER_REFERENCE.fullmatch(name):
        return []  # not one of our users: nothing to prepare
    setup = op.raw.get("target")
    label_broken = (request.expected.rule_id or "").startswith(f"{op.name}.UserName.")
    base = {"query": None, "rule_id": None}
    if setup and not label_broken and name not in present:
        labels = {"AwsAccountId": ACCOUNT, "Namespace": namespace}
        setup_spec = spec[setup["setup_operation"]]
        return [{**base, "operation": setup_spec.name,
                 "path_params": {m.name: labels[m.name] for m in setup_spec.uri_members if m.name in labels},
                 "body": dict(setup["setup_body"], **{setup["existing_user_member"]: name}), "ascii_json": True}]
    if request.operation == setup_op and request.expected.is_success and name in present:
        return [{**base, "operation": "DeleteUser", "raw_body": "",
                 "path_params": {"AwsAccountId": ACCOUNT, "Namespace": namespace, "UserName": name}}]
    return []


def _note_presence(spec, interaction: Mapping[str, Any], outcome: Outcome, present: set[str]) -> None:
    """Which of our users exist now, as the reference target answered."""
    if outcome.status != "compared" or outcome.reference_status is None:
        return
    accepted = 200 <= outcome.reference_status < 300
    if interaction["operation"] == setup_operation_name(spec) and accepted:
        body = interaction.get("body")
        name = body.get("UserName") if isinstance(body, dict) else None
        if isinstance(name, str):
            present.add(name)
    elif interaction["operation"] == "DeleteUser" and (accepted or outcome.reference_status == 404):
        present.discard(interaction["path_params"].get("UserName"))


class _Enough(Exception):
    pass


def draw_requests(spec, config, seed: int, per_rule: int = 2, rules: Iterable[str] | None = None) -> list[Request]:
    """Deterministic requests from the strategies: `per_rule` valid ones per operation and `per_rule` breaking
    each rule that has a generator, the same for the same seed. `rules` narrows the draw to those rule ids,
    with "<Operation>.valid" naming an operation's valid requests."""
    from qsconform import strategies
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable

    wanted = set(rules) if rules is not None else None
    out: list[Request] = []

    def take(strategy, n: int) -> list[Request]:
        drawn: list[Request] = []
        seen: set[str] = set()

        @hypothesis_seed(seed)
        @settings(max_examples=max(4 * n, 10), database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def collect(request):
            key = json.dumps(request.describe(), sort_keys=True, default=str)
            if len(drawn) < n and key not in seen:
                seen.add(key)
                drawn.append(request)
            if len(drawn) >= n:
                raise _Enough  # stops Hypothesis early; without a shrink phase it only replays this example

        try:
            collect()
        except (_Enough, Unsatisfiable):  # Unsatisfiable: this configuration cannot break the rule
            pass
        return drawn[:n]

    for name in sorted(spec.operations):
        if wanted is None or f"{name}.valid" in wanted:
            out += take(strategies.valid_requests(name, config), per_rule)
        for rule_id in sorted(strategies.rules_with_generators(name, spec=spec)):
            if wanted is None or rule_id in wanted:
                out += take(strategies.invalid_requests(name, config, rule_id=rule_id, spec=spec), per_rule)
    return out


# -- the command -------------------------------------------------------------------------------

class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump: the message says what to fix
        raise _Usage(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="qsconform compare", description=(
        "Compare a target with a cassette recorded against real AWS (--recording), or with another target "
        "live (--reference). Exit 0: no difference beyond the allowed and advisory ones (those of requests sent "
        "for SHOULD rules); 1: differences; 2: bad usage; 3: a target is unreachable."))
    p.add_argument("--target", default="moto", help="moto (default), reference, aws, or a base URL")
    p.add_argument("--recording", default=None, help="a cassette (qsconform run --record FILE) to replay")
    p.add_argument("--reference", default=None, help="a second target to compare with, live")
    p.add_argument("--region", default=None, help="AWS region (default: the configured region, else us-east-1)")
    p.add_argument("--account-id", default=None, help="12-digit account id of --target")
    p.add_argument("--namespace", default="default", help="QuickSight namespace of drawn requests (--reference)")
    p.add_argument("--live", action="store_true", help="allow non-loopback targets, such as real AWS")
    p.add_argument("--aws-profile", default=None, help="credentials profile (default: the standard AWS chain)")
    p.add_argument("--allow", default=None, help='allowance file: [{"path": "User.Active", "reason": "..."}]')
    p.add_argument("--report-dir", default=None, help="write compare.json here")
    p.add_argument("--strict", action="store_true",
                   help="differences in requests sent for SHOULD rules (advisory) change the exit code too")
    p.add_argument("--seed", type=int, default=None, help="seed of the requests drawn for --reference")
    p.add_argument("--per-rule", type=int, default=2, help="requests drawn per rule for --reference (default 2)")
    p.add_argument("--rule", action="append", default=None, metavar="ID",
                   help="with --reference: draw only for this rule id (repeatable); <Operation>.valid for valid requests")
    return p


def main(argv: list[str] | None = None) -> int:
    from qsconform.conformance.targets import TargetError, TargetUnreachable

    def fail(message: str, code: int) -> int:
        print(f"qsconform compare: error: {' '.join(str(message).split())}", file=sys.stderr)
        return code

    try:
        args = build_parser().parse_args(argv)
    except _Usage as exc:
        return fail(str(exc), EXIT_USAGE)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if (args.recording is None) == (args.reference is None):
        return fail("give exactly one of --recording FILE and --reference TARGET", EXIT_USAGE)
    if args.per_rule < 1:
        return fail("--per-rule must be at least 1", EXIT_USAGE)
    try:
        allowances = list(DEFAULT_ALLOWANCES) + (load_allowances(args.allow) if args.allow else [])
        report = (_replay_command(args, allowances) if args.recording is not None
                  else _live_command(args, allowances))
    except (CassetteError, CompareError, TargetError) as exc:
        return fail(str(exc), EXIT_USAGE)
    except TargetUnreachable as exc:
        return fail(str(exc), EXIT_UNREACHABLE)
    report.strict = args.strict
    print(report.summary())
    if args.report_dir:
        print(f"report: {report.write(args.report_dir)}")
    return report.exit_code


def _open(args, name: str, account_id: str | None):
    from qsconform.conformance.targets import open_target

    return open_target(name, region=args.region, account_id=account_id, profile=args.aws_profile,
                       allow_live=args.live)


def _replay_command(args, allowances: list[Allowance]) -> CompareReport:
    from qsconform.conformance.transport import Transport

    cassette = load_cassette(args.recording)
    with _open(args, args.target, args.account_id) as target, Transport(target) as transport:
        return replay(cassette, transport, target, allowances=allowances)


def _live_command(args, allowances: list[Allowance]) -> CompareReport:
    from qsconform.spec.model import default_spec
    from qsconform.conformance.transport import Transport
    from qsconform.strategies.config import StrategyConfig

    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    with _open(args, args.target, args.account_id) as target, _open(args, args.reference, None) as reference, \
            Transport(target) as transport_x, Transport(reference) as transport_ref:
        live_target = target.live or reference.live
        config = StrategyConfig(account_id=reference.account_id, namespace=args.namespace,
                                user_prefix=fresh_prefix(), synthetic_iam_arns=not live_target,
                                live_safe=live_target)
        print(f"drawing {args.per_rule} request(s) per rule with seed {seed}", file=sys.stderr)
        requests = draw_requests(default_spec(), config, seed, per_rule=args.per_rule, rules=args.rule)
        if not requests:
            raise CompareError("no request could be drawn for the rules given (see qsconform schema, spec/)")
        return live(requests, transport_x, transport_ref, drawn_with=config, allowances=allowances)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
