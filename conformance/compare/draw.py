"""The requests of a live comparison, drawn from the strategies: deterministic for a seed."""
from __future__ import annotations

import json
from collections.abc import Iterable

from qsconform.spec.request import Request


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
            out += take(strategies.valid_requests(name, config, spec=spec), per_rule)
        for rule_id in sorted(strategies.rules_with_generators(name, spec=spec)):
            if wanted is None or rule_id in wanted:
                out += take(strategies.invalid_requests(name, config, rule_id=rule_id, spec=spec), per_rule)
    return out
