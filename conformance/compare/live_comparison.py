"""Live comparison: each drawn request sent to a reference target and to the target, under distinct names, and
the answers compared; users a request assumes exist are registered first, as a run does."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

from qsconform.conformance.cassette import ACCOUNT, USER_REFERENCE, Normaliser, UserNames
from qsconform.conformance.compare.allowances import DEFAULT_ALLOWANCES, Allowance
from qsconform.conformance.compare.report import CompareReport, Outcome
from qsconform.conformance.compare.side import Side, describe_target, fresh_prefix, setup_operation_name
from qsconform.conformance.compare.steps import clean_up, compare_one
from qsconform.conformance.users import gone
from qsconform.spec.request import Request


def live(requests: Iterable[Request], transport_x, transport_ref, *, drawn_with=None,
         allowances: Iterable[Allowance] | None = None) -> CompareReport:
    """Send each request to both targets (the reference first), names distinct per target but the same
    references; compare the answers. `drawn_with` is the StrategyConfig the requests were made with
    (its account id and user prefix are what the requests hold). Users a request assumes exist are
    registered first, as a run does; every user created on either side is deleted at the end."""
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
    present: set[str] = set()
    try:
        for r, interaction in interactions:
            for step in _preparation(spec, r, interaction, drawn_with.namespace, present):
                outcome = compare_one(len(report.outcomes), step, sides, None, allowances)
                report.outcomes.append(outcome)
                _note_presence(spec, step, outcome, present)
            outcome = compare_one(len(report.outcomes), interaction, sides, None, allowances)
            report.outcomes.append(outcome)
            _note_presence(spec, interaction, outcome, present)
    finally:
        clean_up(sides, report)
    return report


def _preparation(spec, request: Request, interaction: dict, namespace: str, present: set[str]) -> list[dict]:
    """What a run sends before a request (qsconform.conformance.run.Run._prepare): the user an operation acts on is
    registered first (the spec's "target" setup); a user a valid registration names is deleted first."""
    op = spec[request.operation]
    setup_op = setup_operation_name(spec)
    if request.operation != setup_op:
        name = interaction["path_params"].get("UserName")
    else:
        name = interaction["body"].get("UserName") if isinstance(interaction.get("body"), dict) else None
    if not isinstance(name, str) or not USER_REFERENCE.fullmatch(name):
        return []  # not one of our users: nothing to prepare
    setup = op.setup
    label_broken = (request.expected.rule_id or "").startswith(f"{op.name}.{setup.member}.") if setup else False
    base = {"query": None, "rule_id": None}
    if setup and not label_broken and name not in present:
        labels = {"AwsAccountId": ACCOUNT, "Namespace": namespace}
        setup_spec = spec[setup.operation]
        return [{**base, "operation": setup_spec.name,
                 "path_params": {m.name: labels[m.name] for m in setup_spec.uri_members if m.name in labels},
                 "body": dict(setup.body, **{setup.member: name}), "ascii_json": True}]
    if request.operation == setup_op and request.expected.is_success and name in present:
        return [{**base, "operation": "DeleteUser", "raw_body": "",
                 "path_params": {"AwsAccountId": ACCOUNT, "Namespace": namespace, "UserName": name}}]
    return []


def _note_presence(spec, interaction: Mapping[str, Any], outcome: Outcome, present: set[str]) -> None:
    """Which of our users exist now, as the reference target answered."""
    if outcome.status != "compared" or outcome.reference_status is None:
        return
    # the reference's answer, normalised: users.gone reads only its status and error type
    answer = SimpleNamespace(status=outcome.reference_status, error_type=outcome.reference_error_type)
    if interaction["operation"] == setup_operation_name(spec) and 200 <= answer.status < 300:
        body = interaction.get("body")
        name = body.get("UserName") if isinstance(body, dict) else None
        if isinstance(name, str):
            present.add(name)
    elif interaction["operation"] == "DeleteUser" and gone(answer):
        present.discard(interaction["path_params"].get("UserName"))
