"""Live comparison: each drawn request sent to a reference target and to the target, under distinct names, and
the answers compared; users a request assumes exist are registered first, as a run does. On a live target it
keeps to a plan as a run does (conformance/engine/budget.py): the users its updates act on registered first, the drawn
valid registrations only as many as --max-users leaves (with room for one the target should have refused), and
never a registration beyond --max-users there."""
from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace

from qsconform.conformance.cassette import Normaliser, UserNames
from qsconform.conformance.compare.allowances import DEFAULT_ALLOWANCES, Allowance
from qsconform.conformance.compare.report import CompareReport, Outcome
from qsconform.conformance.compare.side import Side, describe_target, fresh_prefix
from qsconform.conformance.compare.steps import clean_up, compare_one
from qsconform.conformance.engine import budget
from qsconform.conformance.engine.ledger import UserLedger
from qsconform.conformance.engine.preparation import NotPrepared, Preparation
from qsconform.conformance.judging.checks import user_name_of
from qsconform.spec.request import Expected, Request


def live(requests: Iterable[Request], transport_x, transport_ref, *, drawn_with=None,
         allowances: Iterable[Allowance] | None = None, max_users: int | None = None) -> CompareReport:
    """Send each request to both targets (the reference first), names distinct per target but the same
    references; compare the answers. `drawn_with` is the StrategyConfig the requests were made with
    (its account id and user prefix are what the requests hold). Users a request assumes exist are
    registered first, as a run does; every user created on either side is deleted at the end. `max_users`: what
    a side on a live target may register (the drawn users it updates, `drawn_with.update_user_names`, first)."""
    from qsconform.strategies.config import StrategyConfig

    drawn_with = drawn_with if drawn_with is not None else StrategyConfig()
    allowances = list(DEFAULT_ALLOWANCES if allowances is None else allowances)
    spec = transport_ref.spec
    draw = Normaliser(drawn_with.account_id, None, UserNames(drawn_with.user_prefix))
    interactions = []
    for r in requests:
        interaction = draw.request(r.operation, r.path_params, r.body_bytes(), None)
        interaction["rule_id"] = r.expected.rule_id
        interactions.append((r, interaction))
    length = len(drawn_with.user_prefix)
    sides = [Side(transport_ref, transport_ref.target, fresh_prefix(length), draw.users.suffixes,
                  describe_target(transport_ref.target)),
             Side(transport_x, transport_x.target, fresh_prefix(length), draw.users.suffixes,
                  describe_target(transport_x.target))]
    report = CompareReport("live", sides[1].label, sides[0].label)
    live_sides = [side for side in sides if side.target.live]
    for side in live_sides:
        side.max_users = max_users
    if live_sides and max_users is not None:
        interactions, report.held_back = _within(interactions, spec, max_users - len(drawn_with.update_user_names)
                                                 - budget.SPARE)
    # Which drawn users exist now, as the reference target answered; the target is prepared for each request as a
    # run prepares it (conformance/engine/preparation.py), each step sent to both sides and compared too.
    present = UserLedger(drawn_with.user_prefix)

    def exchange(request: Request, interaction: dict):
        outcome = compare_one(len(report.outcomes), interaction, sides, None, allowances)
        report.outcomes.append(outcome)
        answer = _reference_answer(outcome)
        if request.operation == spec.setup_operation and 200 <= answer.status < 300:
            name = user_name_of(request)
            if isinstance(name, str):
                present.record(name)
        return answer

    def send(request: Request):
        return exchange(request, _step(draw, request))

    def call(operation: str, labels: dict):
        request = Request(operation, labels, None, Expected("success"), raw_body=b"")
        return exchange(request, _step(draw, request))

    def labels(operation: str, **extra) -> dict:
        known = {"AwsAccountId": drawn_with.account_id, "Namespace": drawn_with.namespace}
        return {m.name: known[m.name] for m in spec[operation].uri_members if m.name in known} | extra

    preparation = Preparation(spec, present, send, call, labels, ours=lambda name: name.startswith(draw.users.prefix))
    try:
        update = next((op for op in spec.operations.values() if op.setup is not None), None)
        if live_sides and update is not None:
            for name in drawn_with.update_user_names:
                try:
                    preparation.ensure_present(name, update.name)  # before anything may take its place in the budget
                except NotPrepared:
                    pass
        for r, interaction in interactions:
            try:
                preparation.prepare(r)
            except NotPrepared:
                pass  # the reference refused: the request is compared all the same, as both sides answer it
            exchange(r, interaction)
    finally:
        clean_up(sides, report)
    return report


def _within(interactions: list, spec, room: int) -> tuple[list, int]:
    """The interactions, but the valid registrations beyond `room` (each a user on a live target); and how many
    were left out."""
    kept, held = [], 0
    for request, interaction in interactions:
        if request.operation == spec.setup_operation and request.expected.is_success:
            if room <= 0:
                held += 1
                continue
            room -= 1
        kept.append((request, interaction))
    return kept, held


def _step(draw: Normaliser, request: Request) -> dict:
    """A request the comparison sends to prepare the targets, normalised as the drawn ones are."""
    return {**draw.request(request.operation, request.path_params, request.body_bytes(), None), "rule_id": None}


def _reference_answer(outcome: Outcome) -> SimpleNamespace:
    """The reference's answer to a step, as much as preparing reads (users.gone: its status and error type);
    status 0 when it gave none (skipped, throttled)."""
    return SimpleNamespace(status=outcome.reference_status or 0, error_type=outcome.reference_error_type)
