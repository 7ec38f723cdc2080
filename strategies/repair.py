"""Make a drawn request meet the cross-field rules, by the rules' own when/then data.

Members are drawn one by one from their own constraints; the cross rules then
decide what to add (a required member), drop (a forbidden one) or redraw (a
member whose value a rule restricts). When a rule's condition is only that an
optional member is present, dropping that member is the fix. Pins say what a
caller needs kept as it is: a member that must stay present or absent, a
value that must not change, conditions a new value must meet.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Any, Sequence

from qsconform.spec.model import CrossRule
from qsconform.strategies.conditions import Clause
from qsconform.strategies.context import OpContext
from qsconform.strategies.pick import Picker
from qsconform.strategies.spaces import EmptySpace

_UNSET = object()
MAX_ROUNDS = 10


@dataclass(frozen=True)
class Pin:
    present: bool | None = None  # True: must stay present; False: must stay absent
    value: Any = _UNSET  # the exact value to keep
    conds: tuple = ()  # conditions (as in rules) any value must meet

    @property
    def fixed(self) -> bool:
        return self.value is not _UNSET

    @staticmethod
    def keep(params: dict, name: str) -> "Pin":
        """Keep a member exactly as it is now (present with its value, or absent)."""
        return Pin(present=True, value=params[name]) if name in params else Pin(present=False)


FREE = Pin()


class Repairer:
    def __init__(self, ctx: OpContext, params: dict, pins: dict[str, Pin], picker: Picker, skip: frozenset = frozenset()):
        self.ctx, self.params, self.pins, self.picker, self.skip = ctx, params, pins, picker, skip
        self.members = ctx.op.members

    def pin(self, name: str) -> Pin:
        return self.pins.get(name, FREE)

    def may_drop(self, name: str) -> bool:
        pin = self.pin(name)
        return name in self.params and not self.members[name].required and pin.present is not True and not pin.fixed

    def may_set(self, name: str) -> bool:
        pin = self.pin(name)
        return pin.present is not False and not pin.fixed

    def draw_value(self, name: str, extra: Sequence[dict] = ()) -> Any:
        """A value of `name` meeting every condition the rules that now apply put on it."""
        own = list(extra) + list(self.pin(name).conds)
        space = self.ctx.space_meeting(name, self.ctx.conditions.conditions_on(name, self.params, self.skip) + own)
        if space is None and extra:
            # Other rules ask for values this change excludes: make the change, and let the next
            # rounds mend those rules their own way (often by leaving a member out).
            space = self.ctx.space_meeting(name, own)
        if space is None:
            return _UNSET
        try:
            return self.picker.value(space)
        except EmptySpace:
            return _UNSET

    def set(self, name: str, extra: Sequence[dict] = ()) -> bool:
        if not self.may_set(name):
            return False
        value = self.draw_value(name, extra)
        if value is _UNSET or (name in self.params and self.params[name] == value):
            return False
        self.params[name] = value
        return True

    def fix(self, rule: CrossRule, clause: Clause) -> bool:
        name = clause.member
        if clause.kind == "required":
            return name not in self.params and self.set(name)
        if clause.kind == "forbidden":
            if self.may_drop(name):
                del self.params[name]
                return True
            return False
        when = rule.when
        if name not in when:
            # The rule applies because an optional member is there: leave that member out.
            for other, cond in when.items():
                if cond.get("present") and self.may_drop(other):
                    del self.params[other]
                    return True
        return self.set(name)

    def break_when(self, rule: CrossRule) -> bool:
        """Make the rule not apply: leave out a member it needs, or give a member a value outside its `in`."""
        when = rule.when
        for name, cond in when.items():
            if cond.get("present") and self.may_drop(name):
                del self.params[name]
                return True
        for name, cond in when.items():
            if "in" in cond and name in self.params and self.set(name, [{"not_in": cond["in"]}]):
                return True
        return False

    def another_way(self, rule: CrossRule, clause: Clause, before: dict, seen: AbstractSet[str]) -> str | None:
        """From the params `before`, mend `rule` otherwise than fix() did: the state reached, None if none is new."""
        ways = ([lambda: self.set(clause.member)] if clause.kind != "forbidden" else []) + [lambda: self.break_when(rule)]
        for way in ways:
            self.params.clear()
            self.params.update(before)
            if way() and (state := repr(sorted(self.params.items()))) not in seen:
                return state
        return None

    def run(self) -> bool:
        """Repair until every rule holds; False if some rule could not be met.

        Rules are visited in turn, round and round, rather than from the first after every
        change: two rules that undo each other's fix (one adds a member, another drops it)
        then give a third rule its turn to settle them.
        """
        rules = [r for r in self.ctx.conditions.rules if r.id not in self.skip]
        given_up: set[str] = set()
        quiet = 0  # rules visited in a row without a change
        seen: set[str] = set()
        i = 0
        for _ in range(MAX_ROUNDS * max(len(rules), 1)):
            if quiet >= len(rules):
                # Every rule was visited since the last change: those not given up hold.
                return not given_up
            rule = rules[i % len(rules)]
            i += 1
            failing = [] if rule.id in given_up else self.ctx.conditions.failing(rule, self.params)
            if not failing:
                quiet += 1
                continue
            before = dict(self.params)
            if self.fix(rule, failing[0]) or self.break_when(rule):
                state = repr(sorted(self.params.items()))
                if state in seen:
                    # The rules chase each other round a cycle (one adds a member another drops): mend this one
                    # the other ways there are, a new value for its member or the rule made not to apply; if
                    # those come back round too, they cannot all hold.
                    state = self.another_way(rule, failing[0], before, seen)
                    if state is None:
                        break
                seen.add(state)
                quiet = 0
                given_up.clear()
            else:
                given_up.add(rule.id)
                quiet += 1
        return not any(self.ctx.conditions.failing(r, self.params) for r in rules)


def repair(ctx: OpContext, params: dict, pins: dict[str, Pin], picker: Picker, skip: frozenset = frozenset()) -> bool:
    return Repairer(ctx, params, pins, picker, skip).run()
