"""The oracle: classify any request as valid, invalid (with the rules it breaks) or ambiguous.

Every rule of the spec that constrains a request becomes two JSON Schemas:

* the *strict* reading, the narrowest the sources allow: patterns anchored and
  with an ASCII ``\\w``, lengths held in every measure (code points and UTF-8
  bytes), no JSON type a server might coerce, and the rules whose violations
  have an unknown fate;
* the *lenient* reading, the widest: patterns searched unanchored with a
  Unicode ``\\w``, lengths broken only when broken in every measure, and only
  the rules whose violations are known to be refused.

A request is *valid* when it passes every strict schema (real AWS accepts it
under any reading), *invalid* when it fails some lenient schema (every reading
refuses it), and *ambiguous* otherwise: such requests are generated as neither.

An invalid request must be refusable for its own rules only. One that also
breaks, under some reading, a rule whose violations have an unknown fate is
ambiguous when the rules it breaks are cross-field rules (a server checks those
side by side, so a refusal could be for either); when they are member or
protocol rules (which a server checks as it reads the request) it stays
invalid, but `also_broken` names the other rules: the refusal is certain, its
error type is not. A rule marked `send_as_valid` neither spoils an invalid
request nor makes a valid one invalid: breaking it leaves the request valid by
inference only (`Classification.level` SHOULD). `contract_schema()` gives the whole contract as one JSON Schema
document, rule ids in ``$comment``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

import jsonschema
import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from qsconform.spec.model import JSON_TYPES, CrossRule, Member, MemberRule, OperationSpec, Rule, path_parts, substitute


@dataclass(frozen=True)
class OracleConfig:
    """What the rules refer to as $config.*: the target's account, partition and namespace, a custom permissions
    profile."""

    account_id: str = "123456789012"
    namespace: str = "default"
    custom_permissions_name: str | None = None
    partition: str = "aws"


@dataclass(frozen=True)
class Classification:
    kind: str  # "valid" | "invalid" | "ambiguous"
    broken: frozenset[str]  # invalid: rules every reading breaks; ambiguous: rules only the strict reading breaks
    level: str = "MUST"  # valid: how strongly the sources back "accepted" (SHOULD: by inference only)
    also_broken: frozenset[str] = frozenset()  # invalid: rules of unknown fate the request breaks under some reading

    @property
    def valid(self) -> bool:
        return self.kind == "valid"

    @property
    def invalid(self) -> bool:
        return self.kind == "invalid"


# -- readings of patterns and lengths ---------------------------------------------

def strict_pattern(pattern: str) -> re.Pattern:
    """Anchored, with \\w meaning [A-Za-z0-9_] as in ECMA-262 and Java."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    body = body[:-1] if body.endswith("$") and not body.endswith("\\$") else body
    return re.compile(body, re.ASCII)


def lenient_pattern(pattern: str) -> re.Pattern:
    """Searched anywhere in the value, with a Unicode \\w."""
    return re.compile(pattern)


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


# The keywords the two readings need beyond JSON Schema. Each takes the keyword's value and
# gives a test of one instance: None when it holds, else what is wrong. Non-strings (and, for
# x-uniqueItemMember, non-lists) pass, as JSON Schema's own keywords ignore other types.

def _pattern_anchored(pattern: str):
    compiled = strict_pattern(pattern)
    return lambda v: None if not isinstance(v, str) or compiled.fullmatch(v) else \
        f"{v!r} does not match {pattern!r} (anchored)"


def _pattern_search(pattern: str):
    compiled = lenient_pattern(pattern)
    return lambda v: None if not isinstance(v, str) or compiled.search(v) else f"{v!r} has no match of {pattern!r}"


def _max_utf8(n: int):
    return lambda v: None if not isinstance(v, str) or _utf8_len(v) <= n else f"{v!r} is longer than {n} UTF-8 bytes"


def _min_utf8(n: int):
    return lambda v: None if not isinstance(v, str) or _utf8_len(v) >= n else f"{v!r} is shorter than {n} UTF-8 bytes"


def _unique_item_member(member: str):
    def test(v):
        if not isinstance(v, list):
            return None
        keys = [json.dumps(i.get(member), sort_keys=True) for i in v if isinstance(i, dict)]
        return None if len(keys) == len(set(keys)) else f"items repeat a {member}"
    return test


KEYWORDS = {
    "x-patternAnchored": _pattern_anchored,
    "x-patternSearch": _pattern_search,
    "x-maxLengthUtf8": _max_utf8,
    "x-minLengthUtf8": _min_utf8,
    "x-uniqueItemMember": _unique_item_member,
}


def _rs_keyword(make):
    class Keyword:
        def __init__(self, parent_schema, value, schema_path):
            self.test = make(value)

        def validate(self, instance):
            problem = self.test(instance)
            if problem is not None:
                raise ValueError(problem)
    return Keyword


def _py_keyword(make):
    tests = lru_cache(maxsize=None)(make)

    def keyword(validator, value, instance, schema):
        problem = tests(value)(instance)
        if problem is not None:
            yield ValidationError(problem)
    return keyword


RS_KEYWORDS = {name: _rs_keyword(make) for name, make in KEYWORDS.items()}


class SchemaValidator:
    """One schema of the readings (Draft 2020-12 plus KEYWORDS), with `is_valid`.

    jsonschema-rs decides, as classifying requests is most of the cost of generating them. It
    cannot take text that is not UTF-8 (a lone surrogate such as '\\ud800', which JSON can
    carry as an escape) and raises UnicodeEncodeError (from 0.49; older versions answered wrongly
    without raising, hence the lower bound in pyproject.toml). Such an instance is decided by the
    Python jsonschema library (`Validator`, same keywords), the second opinion the tests hold it
    equal to.
    """

    def __init__(self, schema: dict):
        self.schema = schema
        self._fast = jsonschema_rs.Draft202012Validator(schema, keywords=RS_KEYWORDS)
        self._python: jsonschema.protocols.Validator | None = None

    def is_valid(self, instance: Any) -> bool:
        try:
            return self._fast.is_valid(instance)
        except UnicodeError:
            return self.python_is_valid(instance)

    def python_is_valid(self, instance: Any) -> bool:
        if self._python is None:
            self._python = Validator(self.schema)
        return self._python.is_valid(instance)


def compile_schema(schema: dict) -> SchemaValidator:
    return SchemaValidator(schema)


Validator = jsonschema.validators.extend(Draft202012Validator,
                                         {name: _py_keyword(make) for name, make in KEYWORDS.items()})


# -- one rule, two readings --------------------------------------------------------

def _at(path: str, schema: dict) -> dict:
    """Wrap a schema for one value so that it applies at a member path like Tags[].Key."""
    for part in reversed(path_parts(path)):
        schema = {"items": schema} if part == "[]" else {"properties": {part: schema}}
    return schema


def _constraint_schema(member: Member, constraint: str, strict: bool, op: OperationSpec) -> dict:
    c = member.constraints
    json_type = JSON_TYPES[member.type]
    if constraint == "required":
        return {"required": [member.name], "properties": {member.name: {"not": {"type": "null"}}}}
    if constraint == "type":
        if strict:
            # null stands for "absent" to many deserialisers: for a required member that is the
            # required rule's business; for an optional one its fate is unknown.
            schema: dict[str, Any] = {"type": [json_type, "null"] if member.required else json_type}
            if member.type == "string" and "max_length" not in c:
                # No maximum in the sources, so the fate of a very long value is unknown.
                schema["x-maxLengthUtf8"] = op.unbounded_max_length
            return schema
        wrong = list(op.wrong_types(member.type))
        return {"not": {"type": wrong}}
    if constraint == "min_length":
        return {"minLength": c["min_length"]} if strict else {"x-minLengthUtf8": c["min_length"]}
    if constraint == "max_length":
        return {"maxLength": c["max_length"], "x-maxLengthUtf8": c["max_length"]} if strict else {"maxLength": c["max_length"]}
    if constraint == "pattern":
        return {"x-patternAnchored": c["pattern"]} if strict else {"x-patternSearch": c["pattern"]}
    if constraint == "enum":
        values = list(c["enum"]) if strict else list(c["enum"]) + list(member.not_generated_as_invalid)
        return {"anyOf": [{"not": {"type": "string"}}, {"enum": values}]}
    if constraint == "min_items":
        return {"minItems": c["min_items"]}
    if constraint == "max_items":
        return {"maxItems": c["max_items"]}
    raise ValueError(constraint)


def _substitute(value: Any, config: OracleConfig) -> Any:
    return substitute(value, lambda name: getattr(config, name))


def condition_schema(cond: Mapping[str, Any], config: OracleConfig, *, presence: bool) -> dict:
    """A cross-rule condition on one member as JSON Schema (for that member's value)."""
    s: dict[str, Any] = {}
    if "in" in cond:
        s["enum"] = _substitute(cond["in"], config)
    if "not_in" in cond:
        s["not"] = {"enum": _substitute(cond["not_in"], config)}
    if "pattern" in cond:
        s["anyOf"] = [{"not": {"type": "string"}}, {"pattern": cond["pattern"]}]
    if "min_length" in cond:
        s["minLength"] = cond["min_length"]
    # well_formed is read by _when_schema, which knows the member's constraints.
    if "unique_item_member" in cond:
        s["x-uniqueItemMember"] = cond["unique_item_member"]
    if "arn" in cond:
        # ('-' needs no escape outside a class, and an escaped one is no valid ECMA-262 pattern)
        fields = {k: re.escape(str(_substitute(v, config))).replace("\\-", "-") for k, v in cond["arn"].items()}
        arn = f"^arn:{fields.get('partition', '[^:]*')}:[^:]*:[^:]*:{fields.get('account', '[^:]*')}:"
        s.setdefault("allOf", []).append({"anyOf": [{"not": {"type": "string"}}, {"pattern": arn}]})
    if "item_members_pattern" in cond:
        p = cond["item_members_pattern"]
        s.setdefault("allOf", []).append({"items": {"properties": {
            m: {"anyOf": [{"not": {"type": "string"}}, {"pattern": p["pattern"]}]} for m in p["members"]}}})
    if "item_member_not_prefix" in cond:
        p = cond["item_member_not_prefix"]
        # Case-insensitive: whether AWS:x is reserved like aws:x is unseen, so neither is generated as valid.
        s["items"] = {"properties": {p["member"]: {"not": {"type": "string", "pattern": "(?i)^" + re.escape(p["prefix"])}}}}
    return s


def _when_schema(op: OperationSpec, when: Mapping[str, Mapping[str, Any]], config: OracleConfig) -> dict:
    parts: list[dict[str, Any]] = []
    for name, cond in when.items():
        if cond.get("present") is False:
            parts.append({"not": {"required": [name]}})
            continue
        parts.append({"required": [name]})
        if cond.get("well_formed"):
            member = op.members[name]
            parts.extend(_at(name, _constraint_schema(member, c, True, op))
                         for c in ("type", *member.constraints))
        value_schema = condition_schema(cond, config, presence=True)
        if value_schema:
            parts.append({"properties": {name: value_schema}})
    return {"allOf": parts} if parts else {}


def _then_schema(then: Mapping[str, Any], config: OracleConfig) -> dict:
    parts: list[dict[str, Any]] = []
    if "required" in then:
        parts.append({"required": list(then["required"])})
    if "forbidden" in then:
        parts.append({"not": {"anyOf": [{"required": [n]} for n in then["forbidden"]]}})
    for name, cond in then.get("members", {}).items():
        parts.append({"properties": {name: condition_schema(cond, config, presence=False)}})
    return {"allOf": parts}


def effective_then(rule: CrossRule, config: OracleConfig) -> Mapping[str, Any]:
    """The rule's then-clause after configuration: a configured profile name may be sent."""
    then = rule.then
    configured = rule.unless_configured
    if configured and getattr(config, configured, None):
        members = {n: {"in": [getattr(config, configured)]} for n in then.get("forbidden", [])}
        return {"members": members}
    return then


def rule_schemas(op: OperationSpec, rule: Rule, config: OracleConfig) -> tuple[dict | None, dict | None]:
    """(strict, lenient) JSON Schemas of one rule over the flat request {member: value}; None where it does not apply."""
    if isinstance(rule, MemberRule):
        path, constraint = rule.member, rule.constraint
        member = op.member_at(path)
        strict = _constraint_schema(member, constraint, True, op)
        lenient = _constraint_schema(member, constraint, False, op) if rule.generate_violations else None
        wrap: Callable[[dict], dict]
        if constraint == "required":
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            wrap = (lambda s: _at(parent, s)) if parent else (lambda s: s)
        else:
            wrap = lambda s: _at(path, s)  # noqa: E731
        return wrap(strict), (wrap(lenient) if lenient is not None else None)
    if isinstance(rule, CrossRule):
        cross = rule  # as the closure below sees it

        def schema(then: Mapping[str, Any]) -> dict:
            if not cross.when:
                return _then_schema(then, config)
            return {"if": _when_schema(op, cross.when, config), "then": _then_schema(then, config)}
        strict = schema(effective_then(rule, config))
        lenient = schema(rule.then_lenient)
        return strict, (lenient if rule.generate_violations else None)
    return None, None


# -- the oracle --------------------------------------------------------------------

class Oracle:
    """Classifies requests of one operation. Build once (`oracle_for`), use many times."""

    def __init__(self, op: OperationSpec, config: OracleConfig = OracleConfig()):
        self.op = op
        self.config = config
        self._strict: list[tuple[str, Any]] = []
        self._lenient: list[tuple[str, Any]] = []
        # Rules whose violations are sent as valid: by inference (SHOULD), or as a recording saw (OBSERVED).
        self._inferred = {r.id: r.level for r in op.rules_of("cross") if r.send_as_valid}
        self._cross = frozenset(r.id for r in op.rules if r.kind == "cross")
        sure, lenient_schemas = [], []
        for rule in op.rules:
            strict, lenient = rule_schemas(op, rule, config)
            if strict is not None:
                self._strict.append((rule.id, compile_schema(strict)))
                if rule.id not in self._inferred:
                    sure.append(strict)
            if lenient is not None:
                self._lenient.append((rule.id, compile_schema(lenient)))
                lenient_schemas.append(lenient)
        # Most requests classified are valid, if only by inference: one validation of the strict schemas
        # of every rule not sent as valid, all at once, says so (rather than one per rule, each
        # converting the request anew); only a request it refuses is checked rule by rule, to know
        # which rules it breaks. Likewise one validation of every lenient schema.
        self._strict_inferred = [(rid, v) for rid, v in self._strict if rid in self._inferred]
        self._strict_sure = compile_schema({"allOf": sure})
        self._lenient_all = compile_schema({"allOf": lenient_schemas})

    def classify(self, params: dict, raw_body: bytes | None = None) -> Classification:
        """Classify a request given as its flat members {name: value} (URI labels and body members).

        `raw_body`, when given, is the body as sent; a body that is not a JSON object
        breaks a protocol rule whatever the members say.
        """
        if raw_body is not None:
            try:
                decoded = json.loads(raw_body)
            except ValueError:
                return Classification("invalid", frozenset({f"{self.op.name}.protocol.body-not-json"}))
            if not isinstance(decoded, dict):
                return Classification("invalid", frozenset({f"{self.op.name}.protocol.body-not-object"}))
        if self._strict_sure.is_valid(params):
            strict_broken = frozenset(rid for rid, v in self._strict_inferred if not v.is_valid(params))
        else:
            strict_broken = frozenset(rid for rid, v in self._strict if not v.is_valid(params))
        if not strict_broken:
            return Classification("valid", frozenset())
        lenient_broken = frozenset() if self._lenient_all.is_valid(params) else \
            frozenset(rid for rid, v in self._lenient if not v.is_valid(params))
        if lenient_broken:
            unknown = strict_broken - lenient_broken - self._inferred.keys()
            if unknown and lenient_broken & self._cross:
                return Classification("ambiguous", strict_broken)
            return Classification("invalid", lenient_broken, also_broken=unknown)
        if strict_broken <= self._inferred.keys():
            level = "SHOULD" if any(self._inferred[r] == "SHOULD" for r in strict_broken) else "OBSERVED"
            return Classification("valid", frozenset(), level=level)
        return Classification("ambiguous", strict_broken)

    def is_valid(self, params: dict) -> bool:
        """Valid under every reading, or by inference (`classify(...).level`)."""
        return self.classify(params).valid


@lru_cache(maxsize=None)
def oracle_for(op: OperationSpec, config: OracleConfig = OracleConfig()) -> Oracle:
    return Oracle(op, config)


def contract_schema(op: OperationSpec, reading: str = "strict", config: OracleConfig = OracleConfig()) -> dict:
    """The operation's request contract as one JSON Schema document over the flat request.

    `reading` is "strict" (what is valid) or "lenient" (what every reading refuses).
    """
    parts = []
    for rule in op.rules:
        strict, lenient = rule_schemas(op, rule, config)
        schema = strict if reading == "strict" else lenient
        if schema is not None:
            parts.append({"$comment": rule.id, **schema})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{op.name} request ({reading} reading)",
        "description": "Members of the URI and the body in one object. Keywords x-* are qsconform's "
                       "(anchored/unanchored patterns, UTF-8 lengths, unique item members).",
        "type": "object",
        "allOf": parts,
    }


