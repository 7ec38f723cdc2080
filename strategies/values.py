"""The valid values of one member, from its constraints in the spec and the run's configuration."""
from __future__ import annotations

import re
from typing import Callable

from qsconform.spec.oracle import compile_schema, condition_schema
from qsconform.spec.model import Member, OperationSpec
from qsconform.strategies.alphabet import allowed_chars, length_range
from qsconform.strategies.conditions import Conditions
from qsconform.strategies.config import BOUND_SHAPES, IAM_ARN_KINDS, PREFIXED_SHAPES, ROLE_SHAPES, StrategyConfig
from qsconform.strategies.spaces import Choice, Filtered, Integer, ListOf, Mapped, OneOf, Regex, Space, Struct, Text

# Lists with no maximum in the sources are drawn this long at most.
UNBOUNDED_ITEMS = 10


def unbounded_length(op: OperationSpec) -> int:
    return op.unbounded_max_length


def find_member(op: OperationSpec, path: str) -> Member:
    """The member at a rule path: "Email", "Tags", "Tags[]", "Tags[].Key"."""
    return op.member_at(path)


def existing_user_member(op: OperationSpec) -> str | None:
    """The member naming a user the operation acts on (the runner makes it exist first)."""
    return op.setup.member if op.setup is not None else None


def string_space(op: OperationSpec, member: Member, prefix: str = "") -> Space:
    """Strings that meet the member's length and pattern constraints under the strict reading."""
    c = member.constraints
    if "enum" in c:
        return Choice(tuple(c["enum"]))
    low = c.get("min_length", 0)
    high = c.get("max_length", unbounded_length(op))
    pattern = c.get("pattern")
    if pattern is None:
        return Text(None, low, high, prefix, structured=not prefix)
    alphabet = allowed_chars(pattern, low)
    lengths = length_range(pattern, alphabet, low, high) if alphabet else None
    if not alphabet or lengths is None:
        return Regex(pattern, high)
    if prefix and not all(ch in alphabet for ch in prefix):
        raise ValueError(f"{op.name}.{member.path}: the user prefix {prefix!r} breaks the pattern {pattern!r}")
    return Text(alphabet, lengths[0], lengths[1], prefix)


def constraint_space(op: OperationSpec, member: Member, config: StrategyConfig, bound: bool = True) -> Space:
    """Values meeting the member's own constraints (not the cross-field rules).

    `bound`: members the configuration fixes (the account, the existing users to update, the roles
    it allows) get the configured values only; unbound, they get every value their constraints allow (the
    values that break a constraint are made from those).
    """
    if bound and member.location != "item" and member.name == existing_user_member(op) and config.update_user_names:
        return Choice(tuple(config.update_user_names))
    if bound and member.shape in BOUND_SHAPES:
        return Choice((getattr(config, BOUND_SHAPES[member.shape]),))
    if bound and member.shape in ROLE_SHAPES and config.user_roles and "enum" in member.constraints:
        return Choice(tuple(v for v in member.constraints["enum"] if v in config.user_roles))
    if member.type == "string":
        return string_space(op, member, config.user_prefix if member.shape in PREFIXED_SHAPES else "")
    if member.type == "boolean":
        return Choice((False, True))
    if member.type == "integer":
        return Integer()
    if member.type == "list":
        c = member.constraints
        assert member.item is not None  # a list member has an item
        return ListOf(constraint_space(op, member.item, config, bound), c.get("min_items", 0),
                      c.get("max_items", c.get("min_items", 0) + UNBOUNDED_ITEMS))
    if member.type == "structure":
        return Struct(tuple((m.name, constraint_space(op, m, config, bound), m.required) for m in member.members))
    raise ValueError(f"{op.name}.{member.path}: no values for type {member.type!r}")


def restrict(space: Space, cond: dict, config: StrategyConfig) -> Space:
    """The values of `space` that meet one condition of a rule."""
    if "in" in cond:
        allowed = config.substitute(cond["in"])
        if isinstance(space, Choice):
            space = Choice(tuple(v for v in space.values if v in allowed))
        else:
            space = Choice(tuple(v for v in allowed if space.contains(v)))
    if "not_in" in cond:
        refused = config.substitute(cond["not_in"])
        if isinstance(space, Choice):
            space = Choice(tuple(v for v in space.values if v not in refused))
        else:
            refused_values = tuple(refused)
            space = Filtered(space, lambda v: v not in refused_values, f"not in {refused}")
    if "min_length" in cond:
        n = cond["min_length"]
        space = space.with_min_length(n) if isinstance(space, Text) else \
            Filtered(space, lambda v: not isinstance(v, str) or len(v) >= n, f"min_length {n}")
    if "pattern" in cond:
        p = cond["pattern"]
        space = Filtered(space, lambda v: not isinstance(v, str) or re.search(p, v) is not None, f"pattern {p}")
    if "unique_item_member" in cond and isinstance(space, ListOf):
        space = ListOf(space.item, space.min_items, space.max_items,
                       space.unique_by + (cond["unique_item_member"],), space.item_ok)
    for key in ("item_member_not_prefix", "item_members_pattern"):
        if key in cond and isinstance(space, ListOf):
            # Read as the oracle reads it (in any case, say): one item at a time through its schema.
            schema = compile_schema(condition_schema({key: cond[key]}, config.oracle_config(), presence=False))
            ok = lambda item, schema=schema: schema.is_valid([item])  # noqa: E731
            space = ListOf(space.item, space.min_items, space.max_items, space.unique_by, space.item_ok + (ok,))
    if "arn" in cond:
        schema = compile_schema(condition_schema({"arn": cond["arn"]}, config.oracle_config(), presence=False))
        space = Filtered(space, schema.is_valid, "an ARN of the partition and account")
    return space


def self_conditions(conditions: Conditions, name: str) -> tuple[list[dict], bool]:
    """The rules that constrain `name` on its own: (conditions on its values, whether it is forbidden outright)."""
    conds, forbidden = [], False
    for rule in conditions.rules:
        then = conditions.then(rule)
        if not rule.when and set(then) == {"forbidden"} and name in then["forbidden"]:
            forbidden = True  # forbidden whatever the request holds, with others (UpdateUser's external login)
            continue
        if conditions.is_self_condition(rule) != name:
            continue
        then = conditions.then(rule)
        if name in then.get("forbidden", []):
            forbidden = True
        if name in then.get("members", {}):
            conds.append(then["members"][name])
    return conds, forbidden


def valid_space(op: OperationSpec, conditions: Conditions, name: str, config: StrategyConfig) -> Space | None:
    """The values of a top-level member that every rule about it alone accepts; None if it may never be sent."""
    conds, forbidden = self_conditions(conditions, name)
    if forbidden:
        return None
    space = constraint_space(op, op.members[name], config)
    for cond in conds:
        space = restrict(space, cond, config)
    return space


def _arn_names(config: StrategyConfig) -> Space:
    return Text("abcdefghijklmnopqrstuvwxyz0123456789", len(config.user_prefix) + 1, len(config.user_prefix) + 16,
                config.user_prefix)


def _synthetic_arn(config: StrategyConfig, kind: str) -> Callable[[str], str]:
    return lambda name: config.synthetic_arn(kind, name)


def pattern_source(space: Space, patterns: list[str], config: StrategyConfig) -> Space | None:
    """Values for a member whose rules ask it to match `patterns`.

    A slot that takes IAM ARNs gets the configured ones or, where allowed,
    synthetic ones of the account; on a live-safe run without configured ARNs
    it gets none (None). Any other pattern is drawn from the pattern itself.
    """
    def matches(v: str) -> bool:
        return all(re.search(p, v) for p in patterns)

    configured: list[Space] = [Choice((a,)) for a in config.iam_arns if matches(a)]
    probes = {kind: config.synthetic_arn(kind, config.user_prefix + "probe") for kind in IAM_ARN_KINDS}
    kinds = [k for k, probe in probes.items() if matches(probe)]
    synthetic: list[Space] = [Mapped(_arn_names(config), _synthetic_arn(config, k), f"synthetic {k} ARN")
                 for k in kinds] if config.may_synthesise_arns else []
    if configured or synthetic:
        return Filtered(OneOf(tuple(configured + synthetic)), matches, "IAM ARN")
    if kinds:
        return None
    return Filtered(Regex(patterns[0], getattr(space, "max_length", 128)), matches, f"patterns {patterns}")


def space_meeting(op: OperationSpec, conditions: Conditions, name: str, config: StrategyConfig,
                  conds: list[dict]) -> Space | None:
    """Valid values of `name` that also meet `conds` (conditions other rules put on it)."""
    space = valid_space(op, conditions, name, config)
    if space is None:
        return None
    patterns = [c["pattern"] for c in conds if "pattern" in c]
    if patterns and isinstance(space, (Text, Regex)) and getattr(space, "alphabet", None) is None:
        space = pattern_source(space, patterns, config)
        if space is None:
            return None
    for cond in conds:
        space = restrict(space, cond, config)
    # Only a list of values is certainly empty; a filtered space may lack examples and still draw values.
    return None if isinstance(space, Choice) and not space.values else space

