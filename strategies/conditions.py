"""The cross-field rules of an operation as clauses that can be checked one at a time.

The oracle answers "which rules does this request break"; building a request
needs finer answers: does this rule's `when` hold, and which of its `then`
clauses fail. Conditions are turned into JSON Schema by the oracle's own
`condition_schema`, so both read the spec alike.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from qsconform.spec.model import OperationSpec, CrossRule
from qsconform.spec.oracle import compile_schema, condition_schema, effective_then, rule_schemas
from qsconform.strategies.config import StrategyConfig

# Conditions every valid value of a member meets: a rule whose `when` asks only these of the
# member its `then` constrains applies to every value of that member.
ALWAYS_MET_BY_VALID = frozenset({"present", "well_formed"})


@dataclass(frozen=True)
class Clause:
    kind: str  # "required" | "forbidden" | "members"
    member: str
    cond: Any = None  # for "members": the condition on the member's value


@lru_cache(maxsize=4096)
def _validator(schema_json: str):
    return compile_schema(json.loads(schema_json))


class Conditions:
    """Evaluates the cross rules of one operation under one configuration."""

    def __init__(self, op: OperationSpec, config: StrategyConfig, steer_inferred: bool = False):
        self.op = op
        self.config = config
        self.oracle_config = config.oracle_config()
        # A send_as_valid rule does not steer generation (requests breaking it are valid by inference), unless
        # asked: the boundary examples also give each value in a request that every reading accepts.
        self.rules: list[CrossRule] = [r for r in op.rules_of("cross") if steer_inferred or not r.send_as_valid]
        # A member is well formed when every strict schema of its own constraints accepts it.
        self._validators: dict = {}
        self._by_identity: dict = {}
        self._memo: dict = {}
        self._then: dict[str, Mapping[str, Any]] = {r.id: effective_then(r, self.oracle_config) for r in self.rules}
        self._when: dict[str, tuple] = {r.id: tuple(r.when.items()) for r in self.rules}
        self._clauses: dict[str, tuple[Clause, ...]] = {}
        self._member_schemas: dict[str, list] = {}
        for r in op.rules_of("member"):
            path = r.member
            if "[]" in path or "." in path:
                continue
            strict, _ = rule_schemas(op, r, self.oracle_config)
            self._member_schemas.setdefault(path, []).append(_validator(json.dumps(strict, sort_keys=True)))

    def then(self, rule: CrossRule) -> Mapping[str, Any]:
        return self._then[rule.id]

    def well_formed(self, name: str, value: Any) -> bool:
        return all(self._valid(v, name, value) for v in self._member_schemas.get(name, ()))

    def _valid(self, validator, name: str, value: Any) -> bool:
        """validator.is_valid({name: value}), remembered: requests are drawn from few values (enum members,
        the account, the namespace) and mended round after round, asking about the same ones again.

        Values are never changed in place (see paths.py): a list or object is known by identity, any
        other value by its type and content."""
        if isinstance(value, (list, dict)):
            key = (id(validator), id(value))
            hit = self._memo.get(key)
            if hit is not None and hit[0] is value:
                return hit[1]
        else:
            key = (id(validator), value.__class__, value)
            hit = self._memo.get(key)
            if hit is not None:
                return hit[1]
        if len(self._memo) > 4096:
            self._memo.clear()
        valid = validator.is_valid({name: value})
        self._memo[key] = (value, valid)
        return valid

    def _cond_validator(self, name: str, cond: Mapping[str, Any], presence: bool):
        # The spec's conditions are long-lived objects asked about tens of thousands of times while
        # requests are drawn: know them by identity first (the entry keeps the object, so its id
        # cannot be reused), by content otherwise.
        by_identity = self._by_identity.get((name, id(cond), presence))
        if by_identity is not None and by_identity[0] is cond:
            return by_identity[1]
        key = (name, json.dumps(cond, sort_keys=True), presence)
        if key not in self._validators:
            schema = condition_schema(cond, self.oracle_config, presence=presence)
            self._validators[key] = _validator(json.dumps({"properties": {name: schema}}, sort_keys=True)) if schema else None
        if len(self._by_identity) > 4096:
            self._by_identity.clear()
        self._by_identity[(name, id(cond), presence)] = (cond, self._validators[key])
        return self._validators[key]

    def holds(self, name: str, cond: Mapping[str, Any], params: dict) -> bool:
        """One `when` condition on one member."""
        if cond.get("present") is False:
            return name not in params
        if name not in params:
            return False
        value = params[name]
        if cond.get("well_formed") and not self.well_formed(name, value):
            return False
        v = self._cond_validator(name, cond, True)
        # The schema is {"properties": {name: ...}}: the member's value alone decides.
        return v is None or self._valid(v, name, value)

    def value_meets(self, name: str, cond: dict, value: Any) -> bool:
        """A `then` condition on a member's value (vacuous when absent, as in the oracle)."""
        v = self._cond_validator(name, cond, False)
        # Lists of 200 tags are checked round after round while a request is mended: remembered.
        return v is None or self._valid(v, name, value)

    def when_holds(self, rule: CrossRule, params: dict, ignoring: str | None = None) -> bool:
        when = self._when.get(rule.id)
        if when is None:
            when = tuple(rule.when.items())
        for name, cond in when:
            if name != ignoring and not self.holds(name, cond, params):
                return False
        return True

    def clauses(self, rule: CrossRule) -> tuple[Clause, ...]:
        out = self._clauses.get(rule.id)
        if out is None:
            then = self.then(rule)
            out = tuple([Clause("required", n) for n in then.get("required", [])]
                        + [Clause("forbidden", n) for n in then.get("forbidden", [])]
                        + [Clause("members", n, c) for n, c in then.get("members", {}).items()])
            self._clauses[rule.id] = out
        return out

    def clause_holds(self, clause: Clause, params: dict) -> bool:
        if clause.kind == "required":
            return clause.member in params
        if clause.kind == "forbidden":
            return clause.member not in params
        return clause.member not in params or self.value_meets(clause.member, clause.cond, params[clause.member])

    def failing(self, rule: CrossRule, params: dict) -> list[Clause]:
        if not self.when_holds(rule, params):
            return []
        return [c for c in self.clauses(rule) if not self.clause_holds(c, params)]

    def is_self_condition(self, rule: CrossRule) -> str | None:
        """The member a rule constrains on its own, whatever else the request holds, or None.

        Such a rule (Email non-empty, no RESTRICTED_* role, the namespace that exists, unique tag
        keys) is a constraint on that member's values, folded into the values drawn for it.
        """
        then = self.then(rule)
        targets = set(then.get("forbidden", [])) | set(then.get("members", {}))
        if then.get("required") or len(targets) != 1:
            return None
        (target,) = targets
        for name, cond in rule.when.items():
            if name != target or not set(cond) <= ALWAYS_MET_BY_VALID or cond.get("present") is False:
                return None
        return target

    def conditions_on(self, name: str, params: dict, skip: frozenset = frozenset()) -> list[dict]:
        """Every `then` condition on `name`'s value from rules that apply to `params` (as if `name` were present)."""
        out = []
        for rule in self.rules:
            if rule.id in skip:
                continue
            cond = self.then(rule).get("members", {}).get(name)
            if cond is not None and self.when_holds(rule, params, ignoring=name):
                out.append(cond)
        return out
