"""Mutation operators: from the spec's rules, the ways to break exactly one of them.

Each operator gives `Violation`s: what the valid request to start from must
hold (pins), how to break the rule (an edit of the request, or a raw body), and
which answers a faithful server gives. Values that break a rule break it under
every reading of the sources (see spec/oracle.py), which the oracle
checks once more on every request drawn.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable

from hypothesis import strategies as st

from qsconform.spec.model import CrossRule, InputRule, Member, MemberRule, ProtocolRule, top
from qsconform.strategies.alphabet import is_anchored, refused_chars
from qsconform.strategies.context import OpContext
from qsconform.strategies.paths import remove_at, set_at
from qsconform.strategies.pick import Picker
from qsconform.strategies.repair import Pin
from qsconform.strategies.spaces import ALNUM, Choice, Filtered, ListOf, OneOf, Space, Text
from qsconform.strategies.values import constraint_space, find_member

Edit = Callable[[OpContext, dict, Picker], "list[str] | None"]


@dataclass(frozen=True)
class Violation:
    rule: InputRule
    operator: str  # "missing", "null", "wrong_type:object", "below_min", "enum:lower_case", "drop_required:IamArn", ...
    outcome: str
    pins: tuple[tuple[str, Pin], ...] = ()
    edit: Edit | None = field(default=None, compare=False)
    raw_body: Callable[[bytes, Picker], bytes] | None = field(default=None, compare=False)


# -- values that break one constraint ------------------------------------------------

# Values of each JSON type sent in place of a member's own (only types spec/common.json lists:
# no deserialiser coerces them). Arrays have zero or two items: a one-item array may be unwrapped.
WRONG_TYPE_VALUES = {
    "object": ({}, {"qsconform": "x"}),
    "array": ([], ["a", "b"]),
    "string": ("x", ""),
    "number": (0, 1.5),
    "boolean": (True, False),
}


def _ascii_alphabet(space: Space) -> str:
    """The printable ASCII characters a member allows: values of these break no pattern, and their
    length is the same in code points and in UTF-8 bytes."""
    alphabet = getattr(space, "alphabet", None)
    chars = "".join(c for c in alphabet if c.isascii() and c.isprintable()) if alphabet else ALNUM
    return chars or ALNUM


def _prefix(space: Space) -> str:
    return getattr(space, "prefix", "")


@dataclass(frozen=True)
class WithRefused(Space):
    """Valid values with refused characters put in (an anchored pattern broken by one bad character)."""

    base: Text
    refused: str

    def _spoil(self, value: str, spots: list[tuple[int, int]]) -> str:
        chars = list(value)
        start = len(self.base.prefix)
        for pos, which in spots:
            bad = self.refused[which % len(self.refused)]
            if len(chars) < self.base.max_length:
                chars.insert(start + pos % (len(chars) - start + 1), bad)
            elif len(chars) > start:
                chars[start + pos % (len(chars) - start)] = bad
        return "".join(chars)

    def _build(self):
        spots = st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, len(self.refused) - 1)), min_size=1, max_size=3)
        return st.builds(self._spoil, self.base.strategy(), spots)

    def examples(self):
        return [self._spoil(v, [(0, 0)]) for v in self.base.examples()[:2]]


def below_min_space(member: Member, space: Space) -> Space | None:
    low = member.constraints["min_length"]
    floor = 1 if member.location == "uri" else 0  # an empty URI label changes the path
    if low - 1 < floor:
        return None
    return Text(_ascii_alphabet(space), floor, low - 1)


def above_max_space(member: Member, space: Space) -> Space:
    high = member.constraints["max_length"]
    prefix = _prefix(space) if len(_prefix(space)) < high else ""
    return Text(_ascii_alphabet(space), high + 1, high + 16, prefix)


def pattern_space(member: Member, space: Space) -> Space | None:
    pattern = member.constraints["pattern"]
    if not isinstance(space, Text) or space.alphabet is None:
        return None
    in_uri = member.location == "uri"
    if is_anchored(pattern):
        ascii_base = Text(_ascii_alphabet(space), space.min_length, space.max_length, space.prefix)
        refused = refused_chars(pattern, ascii_base.simplest() or "a", in_uri)
        return WithRefused(ascii_base, refused) if refused else None
    refused = refused_chars(pattern, "", in_uri)
    if not refused:
        return None
    # Read unanchored, one allowed character anywhere would match: every character is refused.
    return Text(refused, max(space.min_length, 1), min(space.max_length, 16))


def known_values(ctx: OpContext, member: Member) -> set:
    """Every value any source names for an enum member: never generated as invalid."""
    return set(member.constraints.get("enum", ())) | set(member.not_generated_as_invalid) | ctx.op.known_values(member.path)


def enum_spaces(ctx: OpContext, member: Member) -> dict[str, Space]:
    known = known_values(ctx, member)
    lowered = tuple(v.lower() for v in member.constraints["enum"] if isinstance(v, str) and v.lower() not in known)
    unknown = OneOf((Choice(("QSCONFORM_UNKNOWN",)),
                     Text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", 3, 24)))
    out = {"enum:unknown": Filtered(unknown, lambda v: v not in known, "not a known value"),
           "enum:empty": Choice(("",))}
    if lowered:
        out["enum:lower_case"] = Choice(lowered)
    return {k: v for k, v in out.items() if not all(x in known for x in v.examples())}


def items_space(space: ListOf, counts: range) -> Space | None:
    lists = [space.distinct_items(n)[:n] for n in counts]
    lists = [items for items, n in zip(lists, counts) if len(items) == n]
    return Choice(tuple(lists)) if lists else None


# -- operators on one member's constraint ------------------------------------------------

def _setting(path: str, space: Space) -> Edit:
    def edit(ctx, params, picker):
        return [top(path)] if set_at(params, path, picker, lambda: picker.value(space)) else None
    return edit


def _removing(path: str) -> Edit:
    def edit(ctx, params, picker):
        return [top(path)] if remove_at(params, path, picker) else None
    return edit


def member_violations(ctx: OpContext, rule: MemberRule) -> list[Violation]:
    path, c, own = rule.member, rule.constraint, rule.outcome
    assert own is not None  # a member rule that makes violations names its outcome
    member = find_member(ctx.op, path)
    space = constraint_space(ctx.op, member, ctx.config, bound=False)
    pins = ((top(path), Pin(present=True)),)
    def v(operator: str, edit: Edit, outcome: str | None = None) -> Violation:
        return Violation(rule, operator, outcome or own, pins, edit)

    if c == "required":
        return [v("missing", _removing(path)), v("null", _setting(path, Choice((None,))), ctx.op.violation_outcome("null"))]
    if c == "type":  # the rule's own outcome is the wrong-type one
        return [v(f"wrong_type:{k}", _setting(path, Choice(WRONG_TYPE_VALUES[k]))) for k in ctx.op.wrong_types(member.type)]
    if c == "enum":
        return [v(name, _setting(path, s)) for name, s in enum_spaces(ctx, member).items()]
    if c in ("min_length", "max_length", "pattern"):
        make = {"min_length": below_min_space, "max_length": above_max_space, "pattern": pattern_space}[c]
        s = make(member, space)
        name = {"min_length": "below_min", "max_length": "above_max", "pattern": "pattern"}[c]
        return [v(name, _setting(path, s))] if s is not None else []
    if c in ("min_items", "max_items") and isinstance(space, ListOf):
        n = member.constraints[c]
        counts = range(0, n) if c == "min_items" else range(n + 1, n + 2)
        s = items_space(space, counts)
        return [v("below_min_items" if c == "min_items" else "above_max_items", _setting(path, s))] if s else []
    return []


# -- operators on a cross-field rule --------------------------------------------------------

def when_pins(rule: CrossRule) -> dict[str, Pin]:
    """What a request must hold for the rule to apply."""
    pins = {}
    for name, cond in rule.when.items():
        if cond.get("present") is False:
            pins[name] = Pin(present=False)
            continue
        value_cond = {k: v for k, v in cond.items() if k not in ("present", "well_formed")}
        pins[name] = Pin(present=True, conds=(value_cond,) if value_cond else ())
    return pins


def breaking_space(ctx: OpContext, rule: CrossRule, name: str, cond: dict) -> Space | None:
    """Values of `name` that break a rule's condition on it, the rule's own violation values first."""
    given = rule.violation_values.get(name, ())
    if given:
        return Choice(tuple(ctx.config.substitute(list(given))))
    member = ctx.op.members[name]
    if "in" in cond:
        allowed = ctx.config.substitute(cond["in"])
        # Prefer values every other rule accepts; else any value of the member's own constraints.
        return ctx.space_meeting(name, [{"not_in": cond["in"]}]) or \
            Filtered(constraint_space(ctx.op, member, ctx.config), lambda v: v not in allowed, f"not in {allowed}")
    if "not_in" in cond:
        return Choice(tuple(ctx.config.substitute(cond["not_in"])))
    if "min_length" in cond and cond["min_length"] > 0:
        return Text(ALNUM, 0, cond["min_length"] - 1)
    if "pattern" in cond:
        p = cond["pattern"]
        return Filtered(constraint_space(ctx.op, member, ctx.config), lambda v: re.search(p, v) is None, f"not {p}")
    return None


def _list_breaking_edit(name: str, cond: dict) -> Edit | None:
    """Break a condition on a list's items: repeat an item's key, or give a key the refused prefix."""
    if "unique_item_member" in cond:
        def edit(ctx, params, picker):
            items = params.get(name)
            if not isinstance(items, list) or not items:
                return None
            params[name] = items + [dict(items[picker.index(len(items))])]
            return [name]
        return edit
    if "item_member_not_prefix" in cond:
        key, prefix = cond["item_member_not_prefix"]["member"], cond["item_member_not_prefix"]["prefix"]

        def edit(ctx, params, picker):
            items = params.get(name)
            if not isinstance(items, list) or not items:
                return None
            i = picker.index(len(items))
            items = list(items)
            items[i] = {**items[i], key: prefix + str(items[i].get(key, ""))}
            params[name] = items
            return [name]
        return edit
    return None


def cross_violations(ctx: OpContext, rule: CrossRule) -> list[Violation]:
    base = when_pins(rule)
    then = ctx.conditions.then(rule)
    out = []
    outcome = rule.outcome
    assert outcome is not None  # a cross rule that makes violations names its outcome

    def v(operator: str, pins: dict, edit: Edit) -> None:
        out.append(Violation(rule, operator, outcome, tuple(pins.items()), edit))

    for name in then.get("required", []):
        v(f"drop_required:{name}", base, _removing(name))
    for name in then.get("forbidden", []):
        space = ctx.valid_space(name) or constraint_space(ctx.op, ctx.op.members[name], ctx.config)
        v(f"add_forbidden:{name}", base, _setting(name, space))
    for name, cond in then.get("members", {}).items():
        pins = dict(base)
        pins[name] = Pin(present=True, conds=base[name].conds if name in base else ())
        edit = _list_breaking_edit(name, cond)
        if edit is None:
            space = breaking_space(ctx, rule, name, cond)
            if space is None:
                continue
            edit = _setting(name, space)
        v(f"break:{name}", pins, edit)
    return out


# -- operators on the protocol ---------------------------------------------------------------

def _not_json(body: bytes, picker: Picker) -> bytes:
    # A JSON text cut short, or text that is no JSON at all.
    candidates = [body[: max(1, len(body) // 2)], body[:-1], b"not json", b"{"]
    candidates = [c for c in candidates if not _parses(c)]
    return candidates[picker.index(len(candidates))]


def _not_object(body: bytes, picker: Picker) -> bytes:
    candidates = [b"[]", b"[" + body + b"]", b'"x"', b"42"]
    return candidates[picker.index(len(candidates))]


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw)
        return True
    except ValueError:
        return False


# The protocol violations the spec names (spec/common.json protocol_rules[].violation) and how to make them.
PROTOCOL_BODIES = {"body_not_json": _not_json, "body_not_object": _not_object}


def protocol_violations(ctx: OpContext, rule: ProtocolRule) -> list[Violation]:
    make = PROTOCOL_BODIES.get(rule.protocol_violation)
    if make is None:
        return []
    assert rule.outcome is not None  # as the spec names it
    return [Violation(rule, rule.protocol_violation, rule.outcome, (), None, make)]


# -- all of them -------------------------------------------------------------------------------

def violations(ctx: OpContext) -> list[Violation]:
    """Every way to break one rule of the operation that the spec lets the suite generate."""
    if "violations" not in ctx.memo:
        ctx.memo["violations"] = _all_violations(ctx)
    return list(ctx.memo["violations"])


def _all_violations(ctx: OpContext) -> list[Violation]:
    out: list[Violation] = []
    for rule in ctx.op.rules:
        if not isinstance(rule, InputRule) or not rule.generate_violations:
            continue
        if isinstance(rule, MemberRule):
            out += member_violations(ctx, rule)
        elif isinstance(rule, CrossRule):
            out += cross_violations(ctx, rule)
        elif isinstance(rule, ProtocolRule):
            out += protocol_violations(ctx, rule)
    return out
