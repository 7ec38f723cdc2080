"""Valid requests: every member drawn from its constraints, then the cross-field rules met."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from hypothesis import strategies as st

from qsconform.spec.model import Spec
from qsconform.strategies.config import StrategyConfig
from qsconform.strategies.context import OpContext, context_for
from qsconform.strategies.pick import DrawPicker, Picker
from qsconform.strategies.repair import FREE, Pin, repair
from qsconform.spec.request import Expected, Request
from qsconform.strategies.spaces import EmptySpace, reject
from qsconform.strategies.values import constraint_space


def build_params(ctx: OpContext, picker: Picker, pins: dict[str, Pin] | None = None,
                 skip: frozenset = frozenset(), all_rules: bool = False) -> dict | None:
    """A flat request {member: value} meeting the pins and, as far as they allow, every rule.

    None when a pinned member has no value at all under this configuration, or (`all_rules`) when the
    rules could not all be met.
    """
    pins = pins or {}
    params: dict = {}
    for name, member in ctx.op.members.items():
        pin = pins.get(name, FREE)
        if pin.present is False:
            continue
        if pin.fixed:
            params[name] = pin.value
            continue
        if not (member.required or pin.present or picker.flag()):
            continue
        space = ctx.space_meeting(name, list(pin.conds))
        if space is None and pin.present and not pin.conds:
            # A member no valid request carries (a profile nobody configured), needed to break one of
            # its own constraints: its own constraints say what it looks like.
            space = constraint_space(ctx.op, member, ctx.config)
        if space is None:
            if pin.present:
                return None
            continue
        try:
            params[name] = picker.value(space)
        except EmptySpace:
            if pin.present:
                return None
    if not repair(ctx, params, pins, picker, skip) and all_rules:
        return None
    return params


def to_request(ctx: OpContext, params: dict, expected: Expected, ascii_json: bool = True,
               raw_body: bytes | None = None) -> Request:
    """Split a flat request into URI labels and body, in the spec's member order."""
    members = ctx.op.members
    path = {n: v for n, v in params.items() if members[n].location == "uri"}
    body = {n: params[n] for n in members if n in params and members[n].location == "body"}
    return Request(operation=ctx.op.name, path_params=path, body=body, expected=expected,
                   raw_body=raw_body, ascii_json=ascii_json)


SUCCESS = Expected(kind="success")


def success(level: str) -> Expected:
    """Accepted: under every reading (MUST), or by inference only (SHOULD: a refusal is advisory)."""
    return SUCCESS if level == "MUST" else Expected(kind="success", level=level)


def draw_unfiltered(ctx: OpContext, picker: DrawPicker) -> Request | None:
    # Three draws in four, the simplest among them, also keep what only an inference says a server accepts (an
    # external login with an IAM role, tags of the usual characters): every reading accepts them, so a check
    # judges them at its own strength. The others may break those inferences: sent as valid, judged at SHOULD.
    params = build_params(ctx.steering_inferences, picker, all_rules=True) if picker.index(4) != 3 else None
    if params is None:  # not steered, or the inferences could not all be kept (no IAM role to federate with)
        params = build_params(ctx, picker)
    if params is None:
        return None
    return to_request(ctx, params, SUCCESS, ascii_json=picker.flag())


def unfiltered_valid_requests(ctx: OpContext) -> st.SearchStrategy[Request | None]:
    """Drawn and repaired requests before the oracle's final check (for measuring how many it refuses)."""
    return st.composite(lambda draw: draw_unfiltered(ctx, DrawPicker(draw)))()


def labelled_valid(ctx: OpContext, request: Request | None) -> Request | None:
    """The request with how strongly it is expected to be accepted, or None when it is not valid."""
    if request is None:
        return None
    verdict = ctx.classify(request.params())
    if not verdict.valid:
        return None
    return request if verdict.level == "MUST" else replace(request, expected=success(verdict.level))


def valid_requests(operation: str, config: StrategyConfig = StrategyConfig(), *,
                   spec: Spec) -> st.SearchStrategy[Request]:
    """Requests a faithful server accepts (Expected kind "success"; level SHOULD where only an inference says so)."""
    ctx = context_for(operation, config, spec)
    if "valid_requests" not in ctx.memo:
        ctx.memo["valid_requests"] = st.composite(
            lambda draw: draw_labelled(draw, lambda picker: labelled_valid(ctx, draw_unfiltered(ctx, picker))))()
    return ctx.memo["valid_requests"]


def draw_labelled(draw, attempt: Callable[[DrawPicker], Request | None]) -> Request:
    """The first request of three attempts that is not None (each a drawn request the oracle then
    labels); after three, the example is invalid. The attempts draw with one picker: their spans'
    labels differ too (see DrawPicker).

    The choices of composite(draw a request).map(label).filter(lambda r: r is not None), made in one
    composite: the .map and the .filter were two layers of spans each, drawn around every request.
    """
    picker = DrawPicker(draw)
    for _ in range(3):
        request = attempt(picker)
        if request is not None:
            return request
    reject(draw)
