"""Boundary cases: deterministic requests at and just past every constraint, labelled by the oracle.

For every member: the shortest and longest values (ASCII at the upper bound),
one past each bound, the empty string, every enum value, values that use every
character a pattern allows, the fewest and most list items and one past them;
then one request per mutation operator, and where the rest of a request depends
on the member broken (an IdentityType decides whether a UserName or an IamArn
goes with it), one per shape the rules give it: a server that checks the
members around the broken one cannot then hide a fault behind them, whatever
the seed. Each request is labelled by the oracle: a valid one expects success,
an invalid one the single rule it breaks; a case the sources leave open
(ambiguous) is left out.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from qsconform.spec.model import InputRule, Member, MemberRule, Spec, top
from qsconform.spec.request import Expected, Request
from qsconform.strategies.config import ROLE_SHAPES, StrategyConfig
from qsconform.strategies.context import OpContext, context_for
from qsconform.strategies.invalid import labelled, realise
from qsconform.strategies.paths import set_at
from qsconform.strategies.pick import SimplestPicker
from qsconform.strategies.repair import Pin, repair
from qsconform.strategies.spaces import Choice, ListOf, Space, Text
from qsconform.strategies.valid import build_params, success, to_request
from qsconform.strategies.values import constraint_space, unbounded_length
from qsconform.strategies.violations import Violation, enum_spaces, items_space, violations


def members_with_paths(members) -> list[tuple[str, Member]]:
    """Every member, nested ones too ("Tags[].Key"), by rule path."""
    out = []
    for m in members:
        out.append((m.path, m))
        if m.item is not None:
            out += members_with_paths([m.item])
        out += members_with_paths(m.members)
    return out


def _filler(space: Space) -> str:
    alphabet = getattr(space, "alphabet", None) or "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(c for c in alphabet if c.isascii() and c.isalnum()) or alphabet


def _of_length(space: Space, n: int, keep_prefix: bool) -> str:
    prefix = getattr(space, "prefix", "") if keep_prefix else ""
    filler = _filler(space)
    return prefix + "".join(filler[i % len(filler)] for i in range(max(n - len(prefix), 0)))


def candidate_values(ctx: OpContext, member: Member) -> list[tuple[str, Any]]:
    """(what, value) pairs worth trying for one member."""
    space = constraint_space(ctx.op, member, ctx.config)
    c = member.constraints
    out: list[tuple[str, Any]] = [("example", v) for v in space.examples()]
    # Bounds are probed on what the constraints allow, even where the configuration fixes the value.
    space = constraint_space(ctx.op, member, ctx.config, bound=False)
    if isinstance(space, Text):
        low = c.get("min_length", 0)
        high = c.get("max_length", unbounded_length(ctx.op))
        out += [("min", _of_length(space, max(low, len(space.prefix)), True)),
                ("max", _of_length(space, high, True)),
                ("above_max", _of_length(space, high + 1, len(space.prefix) <= high)),
                ("empty", "")]
        if low >= 1:
            out.append(("below_min", _of_length(space, low - 1, False)))
    if "enum" in c:
        out += [("enum", v) for v in c["enum"]]
        out += [(name, v) for name, s in enum_spaces(ctx, member).items() for v in s.examples()[:1]]
    if isinstance(space, ListOf):
        for name, counts in (("below_min_items", range(space.min_items - 1, space.min_items) if space.min_items else range(0)),
                             ("above_max_items", range(space.max_items + 1, space.max_items + 2))):
            s = items_space(space, counts)
            if isinstance(s, Choice):
                out += [(name, v) for v in s.values]
    if member.location == "uri":
        out = [(w, v) for w, v in out if v not in ("", ".", "..")]  # these change the request path itself
    return out


def requests_with(ctx: OpContext, path: str, value: Any, what: str) -> list[Request]:
    """The simplest request with `value` at `path`; and, where only an inference says a server accepts it (an
    external login for a QUICKSIGHT user), the simplest one with the value that every reading accepts, if any
    (the same login for an IAM role session): a check a page states can then fail at its own strength."""
    first = request_with(ctx, path, value, what)
    if first is None or not first.expected.is_success or first.expected.level == "MUST":
        return [first] if first is not None else []
    certain = request_with(ctx.steering_inferences, path, value, what)
    return [first] + ([certain] if certain is not None and certain.expected.is_success
                      and certain.expected.level == "MUST" else [])


def request_with(ctx: OpContext, path: str, value: Any, what: str) -> Request | None:
    """The simplest request with `value` at `path`, the rest mended to meet the rules, labelled by the oracle."""
    picker = SimplestPicker()
    name = top(path)
    if path == name:
        pins = {name: Pin(present=True, value=value)}
        params = build_params(ctx, picker, pins)
    else:
        pins = {name: Pin(present=True)}
        params = build_params(ctx, picker, pins)
        if params is None or not set_at(params, path, picker, lambda: value):
            return None
        pins[name] = Pin.keep(params, name)
        repair(ctx, params, pins, picker)
    if params is None:
        return None
    expected = label(ctx, params, what)
    if expected is None or (expected.is_success and path == name and not _configured(ctx, name, value)):
        return None
    request = to_request(ctx, params, expected)
    return replace(request, notes=(f"boundary: {path} {what}",))


def _configured(ctx: OpContext, name: str, value: Any) -> bool:
    """Whether a value keeps to what the configuration fixes for a member (the users an update may
    name): a bound probed out of it may still be valid, but it is no request the run may send."""
    space = constraint_space(ctx.op, ctx.op.members[name], ctx.config)
    return not isinstance(space, Choice) or value in space.values


def label(ctx: OpContext, params: dict, what: str) -> Expected | None:
    verdict = ctx.classify(params)
    if verdict.kind == "valid":
        return success(verdict.level)
    if verdict.kind != "invalid":
        return None
    for rid in sorted(verdict.broken):
        rule = ctx.op.rule(rid)
        assert isinstance(rule, InputRule)  # what the oracle finds broken is an input rule
        if {rid, *rule.co_broken} == set(verdict.broken):
            outcome = rule.outcome
            assert outcome is not None  # a rule broken by a generated request names its outcome
            level = "SHOULD" if verdict.also_broken else ctx.op.answers_level(outcome)
            return Expected(kind="error", rule_id=rid, co_broken=rule.co_broken,
                            answers=ctx.answers(outcome), operator=what, answers_level=level,
                            answer_members=ctx.op.answer_members(outcome))
    return None


def shapes(ctx: OpContext, v: Violation) -> list[tuple[Violation, str]]:
    """The violation as is, and once from each shape a request takes for a value of the broken member that
    a cross-field rule's `when` names (IdentityType IAM: with an IamArn; QUICKSIGHT: with a UserName)."""
    out = [(v, "")]
    if not isinstance(v.rule, MemberRule) or top(v.rule.member) != v.rule.member:
        return out
    name = v.rule.member
    values = dict.fromkeys(x for rule in ctx.op.rules_of("cross")
                           for x in rule.when.get(name, {}).get("in", ()))
    for value in ctx.config.substitute(list(values)):
        pins = dict(v.pins)
        pins[name] = Pin(present=True, conds=({"in": [value]},))
        out.append((replace(v, pins=tuple(pins.items())), f", shaped as {name}={value}"))
    return out


def _key(r: Request) -> str:
    return json.dumps([r.path_params, r.body, r.raw_body.decode("latin-1") if r.raw_body else None,
                       r.expected.rule_id, r.ascii_json], sort_keys=True)


def _both_encodings(r: Request) -> list[Request]:
    """Non-ASCII text goes out both as \\u escapes and as raw UTF-8: a server must read both alike."""
    if r.raw_body is None and r.body_bytes() != json.dumps(r.body, ensure_ascii=False, separators=(",", ":")).encode():
        return [r, replace(r, ascii_json=False)]
    return [r]


def compute(ctx: OpContext) -> list[Request]:
    out: list[Request] = []
    simplest = build_params(ctx, SimplestPicker())
    if simplest is not None and ctx.classify(simplest).valid:
        out.append(to_request(ctx, simplest, success(ctx.classify(simplest).level)))
    for path, member in members_with_paths(ctx.op.members.values()):
        for what, value in candidate_values(ctx, member):
            for r in requests_with(ctx, path, value, what):
                out += _both_encodings(r)
    for v in violations(ctx):
        for shaped, shape in shapes(ctx, v):
            r = labelled(ctx, realise(ctx, shaped, SimplestPicker()))
            if r is not None:
                out.append(replace(r, notes=(f"operator: {v.operator}{shape}",)))
    seen, unique = set(), []
    for r in out:
        k = _key(r)
        if k not in seen:
            seen.add(k)
            unique.append(r)
    return unique


def boundary_examples(operation: str, config: StrategyConfig = StrategyConfig(), *,
                      spec: Spec) -> list[Request]:
    """Deterministic boundary requests of an operation (same list every call)."""
    ctx = context_for(operation, config, spec)
    if "boundaries" not in ctx.memo:
        ctx.memo["boundaries"] = compute(ctx)
    return list(ctx.memo["boundaries"])


def role_examples(operation: str, config: StrategyConfig = StrategyConfig(), *,
                  spec: Spec) -> list[Request]:
    """The simplest valid request with each role the configuration's `user_roles` leaves out, one per role value
    (none when it allows every role): what a rule about the role itself needs on a run that gives every other
    user the cheapest role."""
    if not config.user_roles:
        return []
    every = context_for(operation, replace(config, user_roles=()), spec)
    out = []
    for name, member in every.op.members.items():
        if member.shape not in ROLE_SHAPES or "enum" not in member.constraints:
            continue
        for value in member.constraints["enum"]:
            request = None if value in config.user_roles else request_with(every, name, value, "enum")
            if request is not None and request.expected.is_success:
                out.append(request)
    return out
