"""The typed model of the spec: members, rules, operations, and what they mean.

The spec files are data (spec/loader.py reads and checks them); these types are the only way the
rest of the suite reads them: what a rule's scope, check, conditions and outcome are, which rules
are input rules, how a member path is written, what `$config.x` stands for. No module outside
spec/ reads the files' dictionaries.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Literal, Mapping, overload

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # enum.StrEnum as Python 3.11 has it (the suite runs from 3.10): a str whose str() and format() are its value
    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str.__str__(self)

        def __format__(self, spec: str) -> str:
            return str.__format__(self, spec)


class Level(StrEnum):
    """How strongly the sources back a claim (docs/levels.md); a str, so it compares and serialises as its name."""

    MUST = "MUST"  # a doc page or the model states it
    OBSERVED = "OBSERVED"  # the real API was seen doing it
    SHOULD = "SHOULD"  # an inference


LEVELS = tuple(level.value for level in Level)  # strongest first; plain names, as argparse shows its choices
# Where a reader looks for a rule in a report (Rule.category), in the order reports show them.
CATEGORIES = ("constraint", "cross-field", "protocol", "response", "error-shape", "lifecycle")
# The JSON type of each botocore shape type the operations use.
JSON_TYPES = {"string": "string", "boolean": "boolean", "integer": "integer", "list": "array", "structure": "object"}

# The model's names of the spec's constraints (botocore service-2.json shapes).
MODEL_CONSTRAINT = {"min_length": "min", "max_length": "max", "min_items": "min", "max_items": "max",
                    "pattern": "pattern", "enum": "enum"}


def weakest(*levels: str | None) -> Level:
    """The weakest of some levels (None: no limit): a verdict is as strong as its weakest evidence."""
    given = [Level(level) for level in levels if level is not None]
    return max(given, key=LEVELS.index, default=Level.MUST)


def deviation_fails_run(level: str) -> bool:
    """A deviation from a rule of this level fails the run: a doc page or the model states it (MUST),
    or the real API was seen doing it (OBSERVED). A SHOULD rule is an inference: its deviation is advisory."""
    return level in (Level.MUST, Level.OBSERVED)


CONSTRAINTS = ("min_length", "max_length", "pattern", "enum", "min_items", "max_items")


INPUT_KINDS = ("member", "cross", "protocol")  # rules an invalid request breaks: judged by its refusal


class SpecError(Exception):
    """A spec file is missing, not JSON, or breaks the meta-schema or a cross-reference."""


def path_parts(path: str) -> list[str]:
    """A member path as its steps: "Tags[].Key" -> ["Tags", "[]", "Key"]."""
    return path.replace("[]", ".[]").split(".")


def top(path: str) -> str:
    """The request member a path starts at: "Tags[].Key" -> "Tags"."""
    return path_parts(path)[0]


MISSING = object()  # where `dig` finds nothing (None may be a value there)


def dig(value: Any, path: str, separator: str = ".") -> Any:
    """What a path of keys leads to through nested dicts ("User.Email"), or MISSING."""
    for key in path.split(separator):
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def substitute(value: Any, lookup: Callable[[str], Any]) -> Any:
    """The spec's references to the run's configuration ($config.namespace, $generated.missing_namespace)
    resolved by `lookup(name)`; anything else as it is."""
    if isinstance(value, (list, tuple)):
        return [substitute(v, lookup) for v in value]
    if isinstance(value, str) and value.startswith(("$config.", "$generated.")):
        return lookup(value.split(".", 1)[1])
    return value


def _frozen(value: Any) -> Any:
    return MappingProxyType(value) if isinstance(value, dict) else value


@dataclass(frozen=True)
class Member:
    """A request member (or a member of a nested structure) with its constraints resolved."""

    name: str
    path: str  # rule-id path: "UserName", "Tags", "Tags[].Key"
    location: str  # "uri" | "body" | "item" (inside a list item)
    type: str  # string | boolean | integer | list | structure
    required: bool
    constraints: dict[str, Any]
    source: str
    level: Level
    shape: str
    item: "Member | None" = None  # for lists: the item's member
    members: tuple["Member", ...] = ()  # for structures
    not_generated_as_invalid: tuple = ()
    violation_outcome: str | None = None
    co_broken: dict = field(default_factory=dict, hash=False, compare=False)
    constraint_levels: dict = field(default_factory=dict, hash=False, compare=False)  # constraint -> {level, source, evidence}


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One named rule the suite gives a verdict on. A rule is one of the kinds below, each with only the fields
    its kind has (spec/loader.py reads them from the spec files); `kind` names the variant."""

    kind: ClassVar[str]
    is_input: ClassVar[bool] = False  # broken by an invalid request, and judged by its refusal (INPUT_KINDS)

    id: str
    operation: str
    level: Level
    source: str
    category: str  # where a reader looks for the rule in a report (CATEGORIES)
    evidence: tuple = field(default=(), hash=False, compare=False)  # what the level rests on (spec/sources/README.md)
    why: str = ""

    def __repr__(self) -> str:
        # The id alone: a rule's repr is what Allure hashes into a test's history id (allure-pytest reprs the test's
        # parameters), so the history of a rule stays one across runs, seeds and edits of its sources.
        return f"Rule({self.id!r})"

    @property
    def sent(self) -> bool:
        """Whether the suite sends requests for the rule: an input rule only when its violations' fate is known."""
        return True


@dataclass(frozen=True, kw_only=True, repr=False)
class InputRule(Rule):
    """A rule an invalid request breaks (member, cross-field, protocol): judged by the request's refusal."""

    is_input: ClassVar[bool] = True

    outcome: str | None = None  # the outcome class of its violations; None when their fate is unknown
    generate_violations: bool = True  # whether requests breaking it are sent: their fate is known
    co_broken: tuple[str, ...] = ()  # rule ids every violation of this rule breaks too
    not_probed: str | None = None  # why `qsconform probe` leaves it alone although its fate is unknown

    @property
    def sent(self) -> bool:
        return self.generate_violations


@dataclass(frozen=True, kw_only=True, repr=False)
class MemberRule(InputRule):
    """A constraint of a request member, derived from its shape: RegisterUser.UserName.pattern."""

    kind: ClassVar[str] = "member"
    category: str = field(default="constraint", init=False)
    member: str  # the member's path: "Email", "Tags[].Key"
    constraint: str  # required | type | one of CONSTRAINTS


@dataclass(frozen=True, kw_only=True, repr=False)
class CrossRule(InputRule):
    """A rule between members (meta-schema "crossRule"): when its conditions hold, `then` must hold too."""

    kind: ClassVar[str] = "cross"
    category: str = field(default="cross-field", init=False)
    # member -> condition (meta-schema "condition"); empty: always
    when: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False, compare=False)
    # what it asks when it applies: required, forbidden, members' conditions
    then: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    # the rule as its widest reading states it: what every reading refuses
    then_lenient: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    # member -> the values that break its condition on it (may hold $config references)
    violation_values: Mapping[str, tuple] = field(default_factory=dict, hash=False, compare=False)
    send_as_valid: bool = False  # a request breaking it is sent as valid, judged at SHOULD strength at most
    unless_configured: str | None = None  # a configuration field that, when set, allows what the rule forbids


@dataclass(frozen=True, kw_only=True, repr=False)
class ProtocolRule(InputRule):
    """How a request body must be written (restJson1), shared by every operation (spec/common.json)."""

    kind: ClassVar[str] = "protocol"
    category: str = field(default="protocol", init=False)
    protocol_violation: str  # how a request breaks it: body_not_json, body_not_object


@dataclass(frozen=True, kw_only=True, repr=False)
class ResponseRule(Rule):
    """What an answer must look like (a check of conformance/judging/checks.py, with its params), for the exchanges of its
    scope: valid (every answer to a valid request), success (2xx answers to valid requests), error (refusals of
    invalid requests) or any. Its category is error-shape for a rule about refusals, response otherwise."""

    kind: ClassVar[str] = "response"
    check: str
    scope: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def judges(self, valid: bool, accepted: bool | None = None) -> bool:
        """Whether the rule speaks about an exchange (accepted None: the answer is not known yet)."""
        if self.scope == "any":
            return True
        if self.scope == "error":
            return not valid and accepted is not True
        return valid and (self.scope == "valid" or accepted is not False)


@dataclass(frozen=True, kw_only=True, repr=False)
class LifecycleRule(Rule):
    """What a sequence of operations on one user must do (register twice, update a missing user, read back)."""

    kind: ClassVar[str] = "lifecycle"
    category: str = field(default="lifecycle", init=False)
    outcome: str | None  # the outcome class of the judged answer; None: a success
    persists: tuple[str, ...] = ()  # the User members read back judged at the rule's own level (others: their echo's)
    read_back: tuple[str, int] | None = None  # (the operation that reads an update back, how many times at most)


@dataclass(frozen=True)
class Setup:
    """How the suite makes the user an operation acts on: `operation` with `body`, named in `member`."""

    operation: str
    body: Mapping[str, Any]
    member: str  # the request member naming the existing user (UpdateUser's UserName label)


@dataclass(frozen=True)
class Echo:
    """A member of a success answer that shows a request member (or, `absent`, that the request cleared it)."""

    response: str  # "User.Email"
    request: str  # "Email"
    when: Mapping[str, Mapping[str, Any]]
    absent: bool
    level: Level


@dataclass(frozen=True)
class ErrorType:
    """An entry of the error catalog (spec/common.json errors)."""

    name: str
    status: tuple[int, ...]
    members: tuple[str, ...]
    modelled: bool  # a QuickSight error of the model (not an AWS common one)
    level: Level


@dataclass(frozen=True)
class Protocol:
    """How answers are read and requests written (restJson1, spec/common.json protocol)."""

    request_content_type: str
    response_content_type: str
    request_id_header: str
    error_type_header: str
    error_type_body_members: tuple[str, ...]


@dataclass(frozen=True)
class OperationSpec:
    name: str
    raw: dict = field(hash=False, compare=False)
    http: dict = field(hash=False, compare=False)
    members: dict[str, Member] = field(hash=False, compare=False)
    rules: tuple[Rule, ...] = field(hash=False, compare=False)
    common: dict = field(hash=False, compare=False)
    shapes: dict = field(hash=False, compare=False)
    errors: Mapping[str, "ErrorType"] = field(hash=False, compare=False)  # the error catalog, built once (error_catalog)
    protocol: "Protocol" = field(hash=False, compare=False)

    @property
    def uri_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.location == "uri"]

    @property
    def body_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.location == "body"]

    def member_at(self, path: str) -> Member:
        """The member at a rule path: "Email", "Tags", "Tags[]", "Tags[].Key"."""
        parts = path_parts(path)
        member: Member = self.members[parts[0]]
        for part in parts[1:]:
            member = member.item if part == "[]" else next(m for m in member.members if m.name == part)  # type: ignore[assignment]  # a list's member has an item
        return member

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @overload
    def rules_of(self, kind: Literal["member"]) -> list[MemberRule]: ...
    @overload
    def rules_of(self, kind: Literal["cross"]) -> list[CrossRule]: ...
    @overload
    def rules_of(self, kind: Literal["protocol"]) -> list[ProtocolRule]: ...
    @overload
    def rules_of(self, kind: Literal["response"]) -> list[ResponseRule]: ...
    @overload
    def rules_of(self, kind: Literal["lifecycle"]) -> list[LifecycleRule]: ...
    @overload
    def rules_of(self, kind: str) -> list[Rule]: ...

    def rules_of(self, kind: str) -> list[Any]:
        """The operation's rules of a kind, typed as that kind's variant."""
        return [r for r in self.rules if r.kind == kind]

    def answers(self, outcome: str) -> list[tuple[int, str]]:
        """The acceptable (status, error type) answers of an outcome class."""
        return [tuple(a) for a in self.common["outcomes"][outcome]["answers"]]

    def answer_members(self, outcome: str) -> tuple[tuple[str, str, str], ...]:
        """(error type, member, value): what an answer of that type must carry to be one of the outcome's."""
        wanted = self.common["outcomes"][outcome].get("answer_members", {})
        return tuple((error, member, value) for error, members in wanted.items() for member, value in members.items())

    def answers_level(self, outcome: str) -> Level:
        """How strongly the sources back an outcome class's answers (which error type, which status)."""
        return Level(self.common["outcomes"][outcome]["level"])

    def violation_outcome(self, kind: str) -> str:
        """The outcome class of a kind of violation (a null member, a wrong JSON type...)."""
        return self.common["violation_outcomes"][kind]

    def wrong_types(self, member_type: str) -> tuple[str, ...]:
        """The JSON types sent in place of a member's type: only those no deserialiser coerces."""
        return tuple(self.common["type_violations"][member_type])

    @property
    def unbounded_max_length(self) -> int:
        """The longest value of a member with no maximum generated as valid (longer: fate unknown)."""
        return self.common["unbounded_string_max_length"]["value"]

    @property
    def method(self) -> str:
        return self.http["method"]

    @property
    def uri(self) -> str:
        return self.http["uri"]

    @property
    def setup(self) -> Setup | None:
        """The user this operation acts on, when it acts on one (UpdateUser); None for one that creates it."""
        target = self.raw.get("target")
        if not target:
            return None
        return Setup(target["setup_operation"], _frozen(target["setup_body"]), target["existing_user_member"])

    @property
    def declared_errors(self) -> tuple[str, ...]:
        """The error types the model declares for the operation."""
        return tuple(self.raw["errors"])

    @property
    def response_members(self) -> Mapping[str, Mapping[str, Any]]:
        """The success body's members: name -> {shape, required?}."""
        return _frozen(self.raw["response"]["members"])

    def success_body_schema(self) -> dict:
        """The success body's JSON Schema, from the model's shapes: the types of the members it holds, unknown
        members allowed (AWS adds them).

        Which members must be there is `response_members`' `required` (the model requires none; only an
        observation shows them). Enum values are not enforced: AWS adds values (new roles) that SDKs must
        tolerate; the echo check compares the values that matter. Status is bound to the status line; a body
        that carries it too is tolerated."""
        shapes = self.shapes

        def of(shape_name: str) -> dict:
            shape = shapes[shape_name]
            if shape["type"] == "structure":
                return {"type": "object", "properties": {n: of(m["shape"]) for n, m in shape["members"].items()}}
            if shape["type"] == "list":
                return {"type": "array", "items": of(shape["member"])}
            return {"type": JSON_TYPES[shape["type"]]}

        return {"type": "object", "properties": {name: of(m["shape"]) for name, m in self.response_members.items()}}

    @property
    def user_required(self) -> tuple[str, ...]:
        """The members a real User in a success answer was seen to carry."""
        return tuple(self.raw["response"].get("user_required", ()))

    @property
    def echoes(self) -> tuple[Echo, ...]:
        return tuple(Echo(e["response"], e["request"], _frozen(e.get("when", {})), bool(e.get("absent")),
                          Level(e.get("level", "SHOULD"))) for e in self.raw["response"]["echo"])

    def echo_evidence(self) -> list[tuple[Echo, tuple]]:
        """Each echoed member with the evidence of its level."""
        return [(echo, tuple(raw.get("evidence", ()))) for echo, raw in zip(self.echoes, self.raw["response"]["echo"])]

    def known_values(self, member: str) -> frozenset:
        """Every value a doc page or the model names for an enum member (deviations included)."""
        known: set = set()
        for d in self.raw.get("deviations", []):
            if d.get("member") == member:
                known |= set(d.get("doc") or ()) | set(d.get("model") or ())
        return frozenset(known)

    def error_type(self, name: str | None) -> ErrorType | None:
        return self.errors.get(name or "")


@dataclass(frozen=True)
class Spec:
    operations: dict[str, OperationSpec]
    common: dict
    shapes: dict
    directory: Path
    errors: Mapping[str, ErrorType]  # the error catalog (spec/common.json errors), built once by the loader
    protocol: Protocol
    observations: tuple = ()  # spec/observations.py Effect: what each observation loaded did
    observation_files: tuple[str, ...] = ()  # the names of the observations files loaded

    def __getitem__(self, name: str) -> OperationSpec:
        return self.operations[name]

    def rule(self, rule_id: str) -> Rule:
        """A rule by its id; ids start with their operation's name."""
        return self.operations[rule_id.split(".", 1)[0]].rule(rule_id)

    @property
    def rules(self) -> list[Rule]:
        return [r for op in self.operations.values() for r in op.rules]

    @property
    def setup_operation(self) -> str:
        """The operation that creates users: the one other operations name as their setup."""
        names = {op.setup.operation for op in self.operations.values() if op.setup is not None}
        return names.pop() if names else ""

    def catalog_evidence(self) -> list[tuple[str, str, tuple]]:
        """(where, level, evidence) of every error type and outcome class."""
        return [(f"{part}/{name}", entry["level"], tuple(entry.get("evidence", ())))
                for part in ("errors", "outcomes") for name, entry in self.common[part].items()]

    def outcome_answers(self, outcome: str) -> tuple[tuple[int, str], ...]:
        return tuple(tuple(a) for a in self.common["outcomes"][outcome]["answers"])


def protocol_of(common: Mapping[str, Any]) -> Protocol:
    p = common["protocol"]
    return Protocol(p["request_content_type"], p["response_content_type"], p["request_id_header"],
                    p["error_type_header"], tuple(p["error_type_body_members"]))


def error_catalog(common: Mapping[str, Any]) -> Mapping[str, ErrorType]:
    return MappingProxyType({name: ErrorType(name, tuple(e["status"]), tuple(e["members"]), e["modelled"],
                                             Level(e["level"])) for name, e in common["errors"].items()})
