"""Compare a target with a recording (a cassette of real AWS) or with another target, answer by answer.

Both sides are normalised the same way (qsconform.conformance.cassette), so what is left
to differ is what a client would notice: the status, the error type, the
content type, the request id header, the shape of the body (its JSON paths
and their types) and the values it echoes. A difference some servers are
entitled to make is allowed by path, with its reason: DEFAULT_ALLOWANCES plus
an optional JSON file `[{"path": "User.Active", "reason": "..."}]`.

A difference in an interaction sent for a rule of level SHOULD (an inference: no source states what
the real API answers) is advisory: listed, but it changes the exit code only with --strict.

Do no harm: names come from a fresh prefix, a user is deleted at the end
only if this comparison created it, and on a live target a recorded request
that would update or delete a user not made here is skipped.

diff: what tells two answers apart; allowances: which differences are allowed, and why; report: outcomes,
exit code, summary and compare.json; side: one target and the users it got created; steps: what replaying
and live comparison share; replaying: a cassette against a target; live_comparison: two targets; draw: the
requests of a live comparison; cli: `qsconform compare`.
"""
from qsconform.conformance.compare.allowances import Allowance, CompareError, judge, load_allowances
from qsconform.conformance.compare.cli import main
from qsconform.conformance.compare.diff import Difference, differences
from qsconform.conformance.compare.draw import draw_requests
from qsconform.conformance.compare.live_comparison import live
from qsconform.conformance.compare.replaying import replay
from qsconform.conformance.compare.report import CompareReport, Outcome, rule_level

__all__ = ["Allowance", "CompareError", "CompareReport", "Difference", "Outcome", "differences", "draw_requests",
           "judge", "live", "load_allowances", "main", "replay", "rule_level"]
