"""The steps every comparison takes, replayed or live: one interaction sent to each side and judged, and at
the end the users each side created deleted."""
from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from qsconform.conformance.compare.allowances import Allowance, judge
from qsconform.conformance.compare.diff import differences
from qsconform.conformance.compare.diff import few_names
from qsconform.conformance.compare.report import CompareReport, Outcome, rule_level
from qsconform.conformance.compare.side import Side
from qsconform.conformance.engine import interrupt

log = logging.getLogger("qsconform.compare")


def compare_one(index: int, interaction: Mapping[str, Any], sides: list[Side], recorded: dict | None,
                allowances: list[Allowance]) -> Outcome:
    """Send an interaction to every side; compare the first answer (or the recording) with the last."""
    from qsconform.conformance.wire.transport import AnswerLost, Throttled

    outcome = Outcome(index, interaction["operation"], interaction.get("rule_id"), _request_view(interaction))
    outcome.level = rule_level(sides[0].spec, outcome.rule_id)
    for side in sides:
        why = side.refusal(interaction)
        if why:
            outcome.status, outcome.why = "skipped", why
            return outcome
    answers = []
    for side in sides:
        try:
            answers.append(side.exchange(interaction))
        except (Throttled, AnswerLost) as exc:  # a lost answer is compared with nothing: the user it may have made
            outcome.status, outcome.why = "inconclusive", f"{side.label}: {exc}"  # is deleted at the end
            return outcome
    reference = recorded if recorded is not None else answers[0]
    outcome.reference_status, outcome.reference_error_type = reference["status"], reference.get("error_type")
    outcome.differences = judge(differences(reference, answers[-1]), outcome.operation, allowances)
    return outcome


def _request_view(interaction: Mapping[str, Any]) -> dict:
    keep = ("operation", "path_params", "query", "body", "raw_body")
    return {k: interaction[k] for k in keep if k in interaction and interaction[k] is not None}


def clean_up(sides: list[Side], report: CompareReport) -> None:
    """Delete what each side created. Called from `finally`: while an exception is on its way out,
    no report will list what is left behind, so a warning does."""
    stopping = sys.exc_info()[1] is not None
    for side in sides:
        report.prefixes[side.label] = side.users.prefix
        report.registered[side.label] = dict(side.registered)
        with interrupt.deferred():  # a Ctrl-C now is remembered, not raised: the cleanup runs to its end
            left = side.cleanup()
        if left:
            report.left_behind[side.label] = left
        if left and stopping:
            log.warning("left behind on %s: %s; qsconform sweep --prefix %s deletes what is under the prefix",
                        side.label, few_names(left), side.users.prefix)
