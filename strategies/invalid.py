"""Invalid requests: a valid request with exactly one rule broken, labelled with the rule and its answers."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import Phase, find, settings, strategies as st
from hypothesis.errors import NoSuchExample

from qsconform.spec.model import Spec
from qsconform.strategies.config import StrategyConfig
from qsconform.strategies.context import OpContext, context_for, operation_spec
from qsconform.strategies.pick import DrawPicker, Picker, SimplestPicker
from qsconform.strategies.repair import Pin, repair
from qsconform.strategies.spaces import EmptySpace
from qsconform.spec.request import Expected, Request
from qsconform.strategies.valid import build_params, draw_labelled, to_request
from qsconform.strategies.violations import Violation, violations


def expected_of(ctx: OpContext, v: Violation) -> Expected:
    return Expected(kind="error", rule_id=v.rule.id, co_broken=v.rule.co_broken, answers=ctx.answers(v.outcome),
                    operator=v.operator, answers_level=ctx.op.answers_level(v.outcome),
                    answer_members=ctx.op.answer_members(v.outcome))


def realise(ctx: OpContext, v: Violation, picker: Picker) -> Request | None:
    """Start from a valid request where the rule applies, break it, and mend whatever else the break upset."""
    pins = dict(v.pins)
    params = build_params(ctx, picker, pins)
    if params is None:
        return None
    if v.edit is not None:
        touched = v.edit(ctx, params, picker)
        if touched is None:
            return None
        pins.update({name: Pin.keep(params, name) for name in touched})
        repair(ctx, params, pins, picker, skip=frozenset({v.rule.id}))
    request = to_request(ctx, params, expected_of(ctx, v), ascii_json=not picker.flag())
    if v.raw_body is not None:
        request = to_request(ctx, params, request.expected, request.ascii_json,
                             raw_body=v.raw_body(request.body_bytes(), picker))
    return request


def labelled(ctx: OpContext, request: Request | None) -> Request | None:
    """The request if the oracle agrees (invalid, broken exactly the rule named and the rules it always
    breaks with), its answers weakened to SHOULD when it also breaks a rule of unknown fate; else None."""
    if request is None:
        return None
    verdict = ctx.classify(request.params(), raw_body=request.raw_body)
    expected = request.expected
    if verdict.kind != "invalid" or verdict.broken != {expected.rule_id, *expected.co_broken}:
        return None
    if verdict.also_broken and expected.answers_level != "SHOULD":
        return replace(request, expected=replace(expected, answers_level="SHOULD"))
    return request


def labelled_rightly(ctx: OpContext, request: Request | None) -> bool:
    return labelled(ctx, request) is not None


def unfiltered(ctx: OpContext, v: Violation) -> st.SearchStrategy[Request | None]:
    return st.composite(lambda draw: realise(ctx, v, DrawPicker(draw)))()


def violation_requests(ctx: OpContext, v: Violation) -> st.SearchStrategy[Request]:
    key = ("violation_requests", id(v))  # violations live as long as the context (ctx.memo)
    hit = ctx.memo.get(key)
    if hit is None or hit[0] is not v:
        strategy = st.composite(lambda draw: draw_labelled(draw, lambda picker: labelled(ctx, realise(ctx, v, picker))))()
        hit = ctx.memo[key] = (v, strategy)
    return hit[1]


def _feasible(ctx: OpContext, v: Violation) -> bool:
    key = ("feasible", v.rule.id, v.operator)
    if key not in ctx.memo:
        ctx.memo[key] = _try(ctx, v)
    return ctx.memo[key]


def _try(ctx: OpContext, v: Violation) -> bool:
    """Whether this configuration allows the violation at all (a live-safe run has no IAM identity to start from)."""
    try:
        if labelled_rightly(ctx, realise(ctx, v, SimplestPicker())):
            return True
    except EmptySpace:  # the configuration leaves no value that breaks it (one account id to name)
        return False
    try:
        # Unfiltered, so that each try counts and an impossible violation is given up on quickly.
        find(unfiltered(ctx, v), lambda r: labelled_rightly(ctx, r),
             settings=settings(database=None, derandomize=True, max_examples=20, phases=[Phase.generate]))
        return True
    except NoSuchExample:
        return False
    except Exception:  # Unsatisfiable and the like: nothing comes out
        return False


def feasible_violations(ctx: OpContext, rule_id: str | None = None) -> list[Violation]:
    return [v for v in violations(ctx) if (rule_id is None or v.rule.id == rule_id) and _feasible(ctx, v)]


def invalid_requests(operation: str, config: StrategyConfig = StrategyConfig(), rule_id: str | None = None, *,
                     spec: Spec) -> st.SearchStrategy[Request]:
    """Requests that break exactly one rule (with `rule_id`, that rule), labelled Expected(kind="error").

    A rule this configuration cannot break gives an empty strategy (Hypothesis reports it Unsatisfiable);
    a rule the spec gives no generator raises ValueError.
    """
    ctx = context_for(operation, config, spec)
    if rule_id is not None and rule_id not in rules_with_generators(operation, spec=spec):
        raise ValueError(f"no operator breaks {rule_id!r} (see rules_with_generators({operation!r}))")
    key = ("invalid_requests", rule_id)
    if key not in ctx.memo:
        chosen = feasible_violations(ctx, rule_id)
        ctx.memo[key] = st.one_of([violation_requests(ctx, v) for v in chosen]) if chosen else st.nothing()
    return ctx.memo[key]


def breakable_alone(operation: str, rule_id: str, *, spec: Spec) -> bool:
    """Whether some request breaks the rule alone, under the configuration that allows the most (a local
    target, synthetic IAM ARNs). A rule no request breaks alone is one the spec leaves unsent."""
    return bool(feasible_violations(context_for(operation, StrategyConfig(), spec), rule_id))


def rules_with_generators(operation: str, *, spec: Spec) -> set[str]:
    """The rule ids some operator can break (under the default configuration)."""
    operation_spec(operation, spec)
    return {v.rule.id for v in violations(context_for(operation, StrategyConfig(), spec))}
