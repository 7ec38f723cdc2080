"""Replaying a cassette: its requests sent in order to one target under fresh names, each answer compared with
the recorded one."""
from __future__ import annotations

from collections.abc import Iterable

from qsconform.conformance.cassette import Cassette
from qsconform.conformance.compare.allowances import DEFAULT_ALLOWANCES, Allowance
from qsconform.conformance.compare.report import CompareReport
from qsconform.conformance.compare.side import Side, describe_target, fresh_prefix
from qsconform.conformance.compare.steps import clean_up, compare_one


def replay(cassette: Cassette, transport, target=None, *,
           allowances: Iterable[Allowance] | None = None, max_users: int | None = None) -> CompareReport:
    """Send a cassette's requests in order to `target` under fresh names; compare each answer with the recorded one.

    Users created here are deleted at the end, also when the replay stops on an exception. `max_users`: the
    registrations it may make there (a live target); a recorded registration beyond them is skipped.
    """
    target = target if target is not None else transport.target
    allowances = list(DEFAULT_ALLOWANCES if allowances is None else allowances)
    side = Side(transport, target, fresh_prefix(cassette.prefix_length), cassette.users, describe_target(target))
    side.max_users = max_users
    report = CompareReport("replay", side.label, f"cassette {cassette.path or '(in memory)'}"
                           + (f" (recorded from {cassette.source})" if cassette.source else ""))
    try:
        for i, interaction in enumerate(cassette.interactions):
            report.outcomes.append(compare_one(i, interaction, [side], interaction["response"], allowances))
    finally:
        clean_up([side], report)
    return report
