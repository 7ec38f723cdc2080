"""Everything the strategies of one operation under one configuration share, built once."""
from __future__ import annotations

import threading
from functools import cached_property

from qsconform.spec.oracle import Classification, Oracle
from qsconform.spec.model import OperationSpec, Spec
from qsconform.strategies.conditions import Conditions
from qsconform.strategies.config import StrategyConfig
from qsconform.strategies.spaces import Space
from qsconform.strategies.values import space_meeting, valid_space


class OpContext:
    def __init__(self, op: OperationSpec, config: StrategyConfig, steer_inferred: bool = False):
        self.op = op
        self.config = config
        self.conditions = Conditions(op, config, steer_inferred)
        self._spaces: dict = {}
        self.memo: dict = {}  # results other modules compute once per operation and configuration

    @cached_property
    def steering_inferences(self) -> "OpContext":
        """This context with the rules whose violations are sent as valid by inference steering generation too:
        what it builds, every reading accepts (when the pins allow it)."""
        steered = OpContext(self.op, self.config, steer_inferred=True)
        steered.oracle = self.oracle  # the same requests are valid: one oracle (a cached_property, so assignable)
        return steered

    @cached_property
    def oracle(self) -> Oracle:
        # Not oracle_for: its cache knows operations by name, and two specs may share a name.
        return Oracle(self.op, self.config.oracle_config())

    def classify(self, params: dict, raw_body: bytes | None = None) -> Classification:
        return self.oracle.classify(params, raw_body=raw_body)

    def valid_space(self, name: str) -> Space | None:
        key = ("valid", name)
        if key not in self._spaces:
            self._spaces[key] = valid_space(self.op, self.conditions, name, self.config)
        return self._spaces[key]

    def space_meeting(self, name: str, conds: list[dict]) -> Space | None:
        if not conds:
            return self.valid_space(name)
        key = ("meeting", name, repr(conds))
        if key not in self._spaces:
            self._spaces[key] = space_meeting(self.op, self.conditions, name, self.config, conds)
        return self._spaces[key]

    def answers(self, outcome: str) -> tuple[tuple[int, str], ...]:
        return tuple(self.op.answers(outcome))


_cache: dict = {}
_lock = threading.Lock()


def operation_spec(operation: str, spec: Spec) -> OperationSpec:
    try:
        return spec.operations[operation]
    except KeyError:
        raise ValueError(f"unknown operation {operation!r}; the spec has {sorted(spec.operations)}") from None


def context_for(operation: str, config: StrategyConfig, spec: Spec) -> OpContext:
    op = operation_spec(operation, spec)
    # Keyed by the spec object itself: two specs may name the same operation differently.
    key = (id(op), config)
    with _lock:
        hit = _cache.get(key)
        if hit is None or hit[0] is not op:
            hit = (op, OpContext(op, config))
            _cache[key] = hit
        return hit[1]
