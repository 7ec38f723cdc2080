"""Which of the spec's operations a target offers: an operation it does not implement makes its rules unsupported,
not failed; a target that answers every operation as no QuickSight endpoint does is no target at all."""
from __future__ import annotations

from dataclasses import replace
from http import HTTPStatus

from qsconform import strategies
from qsconform.conformance.engine.preparation import NotPrepared
from qsconform.conformance.judging.results import Results
from qsconform.spec.request import Expected, Request


def find_unsupported(exchanger, config: strategies.StrategyConfig, results: Results) -> None:
    """`exchanger`: the run's (conformance/engine/exchanger.py). Ask each operation once with a valid request; those the target does not implement go into
    `exchanger.unsupported`, their rules `unsupported` in `results`. On a live target it asks with what the plan
    registered already (the first registration, the first prepared user), and leaves alone an operation the plan
    gives nothing to ask with. Raises targets.NotQuickSight when every operation is answered as no QuickSight
    endpoint answers (not_quicksight), before anything is judged."""
    spec, plan = exchanger.spec, exchanger.plan
    foreign: dict[str, str] = {}  # operation -> how it answered, where no QuickSight endpoint answers so
    for op in spec.operations.values():
        setup = op.setup
        name = f"{exchanger.prefix}probe"
        if exchanger.budgeted:
            planned = plan.prepared[:1] if setup else plan.registrations[:1]
            if not planned:
                continue
            name = planned[0] if setup else name
        elif setup:
            body = dict(setup.body, **{setup.member: name})
            exchanger.send(Request(operation=setup.operation, path_params=exchanger.labels_of(setup.operation),
                                   body=body, expected=Expected("success")))
        if exchanger.budgeted and not setup:
            req: Request | None = plan.registrations[0]
        else:
            req = next((r for r in strategies.boundary_examples(op.name, config, spec=spec)
                        if r.expected.is_success), None)
        if req is None:
            continue
        if setup:
            req = replace(req, path_params={**req.path_params, setup.member: name})
        if not (exchanger.budgeted and not setup):  # a planned registration's answer is there already
            try:
                exchanger.preparation.prepare(req)
            except NotPrepared:
                pass  # the user to update could not be registered: what the update answers all the same says more
        try:
            response = exchanger.send(req)
        except NotPrepared:  # its answer lost every time: taken as offered, its rules judge it
            continue
        foreign_answer = not_quicksight(response)
        if foreign_answer:
            foreign[op.name] = foreign_answer
        why = unsupported_reason(response)
        if why:
            exchanger.unsupported[op.name] = why
            for rule in op.rules:
                results.set(rule.id, "unsupported", why)
    if foreign and len(foreign) == len(exchanger.unsupported) == len(spec.operations):
        from qsconform.conformance.wire.targets import NotQuickSight, describe

        first, how = next(iter(foreign.items()))
        target = exchanger.target
        raise NotQuickSight(f"{describe(target.name, target.endpoint)}: not a QuickSight REST endpoint? "
                            f"{first} answered {how}")


def not_quicksight(response) -> str | None:
    """How an answer shows it comes from no QuickSight endpoint (a static file server, another service): 404, 405 or
    501 without an AWS error type, or an HTML page; None for an answer a QuickSight endpoint may give."""
    if response.error_type:
        return None
    page = response.body.lstrip()[:1] == b"<"
    if response.status not in (404, 405, 501) and not page:
        return None
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = ""
    return f"{response.status} {phrase}".strip() + (" with an HTML page" if page else "")


def unsupported_reason(response) -> str | None:
    """Why an answer means "this operation is not implemented here", or None."""
    if response.status == 501:
        return "the target answered 501 Not Implemented"
    if response.error_type in ("UnknownOperationException", "UnknownOperation", "NotImplemented"):
        return f"the target answered {response.error_type}"
    if response.status in (404, 405) and not response.error_type:
        return f"the target answered {response.status} without an AWS error"
    return None
