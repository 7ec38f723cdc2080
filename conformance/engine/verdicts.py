"""Recording verdicts: each example a rule judged goes into the run's Results, a deviation with its redacted
evidence; one that breaks the rule raises for Hypothesis to shrink the request that broke it."""
from __future__ import annotations

import time

from qsconform.conformance.engine.budget import Plan
from qsconform.conformance.engine.exchanger import Exchanger
from qsconform.conformance.engine.rule_state import RuleState, final_replay
from qsconform.conformance.judging.checks import NOT_APPLICABLE, Deviation
from qsconform.conformance.judging.results import Evidence, Results
from qsconform.conformance.reporting import reproduction
from qsconform.conformance.tools.options import rerun_command
from qsconform.spec.model import Spec, deviation_fails_run, weakest
from qsconform.spec.request import Request


class RuleFailure(AssertionError):
    """A rule broken by a target (MUST or OBSERVED strength); Hypothesis shrinks the request that broke it."""

    def __init__(self, rule_id: str, message: str, evidence: Evidence, rerun: str | None = None):
        response = evidence.response
        super().__init__(
            f"{rule_id}: [{evidence.level}] {message}\n"
            f"  response: {response.get('status')} {response.get('body', '')[:300]}\n"
            f"  reproduce: {evidence.curl}\n"
            f"  seed: {evidence.seed} ({rerun or f'qsconform run --seed {evidence.seed}'})")
        self.rule_id, self.evidence = rule_id, evidence


class AdvisoryDeviation(RuleFailure):
    """A deviation from what only an inference expects (SHOULD). Its own exception type, so that Hypothesis
    shrinks it apart from a failure of the same rule and never reports a failure as an advisory."""


def only_deviations(exc: BaseException) -> bool:
    """Whether an exception is a RuleFailure, or a group of nothing else (Hypothesis's report of several bugs)."""
    if isinstance(exc, RuleFailure):
        return True
    inner = getattr(exc, "exceptions", None)
    return isinstance(inner, (list, tuple)) and bool(inner) and all(only_deviations(e) for e in inner)


class VerdictRecorder:
    """Records a run's examples into `results`. `selected`: the ids of the rules the run judges (None: every
    rule); `baseline`: the deviations a team has accepted (conformance/judging/baseline.py), or None."""

    def __init__(self, spec: Spec, results: Results, exchanger: Exchanger, state: RuleState, *, plan: Plan,
                 config, seed: int, redactor, baseline=None, selected: frozenset[str] | None = None):
        self.spec, self.results, self.exchanger, self.state, self.plan = spec, results, exchanger, state, plan
        self.config = config  # the run's RunConfig: a rerun carries the options that shaped the run
        self.seed, self.redactor, self.baseline, self.selected = seed, redactor, baseline, selected
        exchanger.transport.observers.append(self._on_sent)

    def judge(self, rule_id: str, request: Request, response, deviation: object,
              stop: bool = True, trail: bool = False) -> None:
        """Record one example of a rule (`deviation`: what its check gave, checks.run_check: None, a Deviation or its
        message, or NOT_APPLICABLE); when it broke the rule and `stop`, raise for Hypothesis to shrink.

        The verdict is as strong as its weakest evidence: the rule's level, the part of it broken
        (`Deviation.level`) and the request's expectation. A failing deviation raises RuleFailure, a SHOULD one
        AdvisoryDeviation; an advisory on a boundary example is recorded without stopping, so that the random
        examples still look for a failure. A rule met in passing (`stop` false: a lifecycle step) is recorded
        only until the judged rule fails: what the shrinker tries in its time is no verdict.
        `trail`: the evidence's reproduction is what this thread's program sent (begin_trail), not derived.
        """
        state = self.state
        if deviation is NOT_APPLICABLE or (not stop and state.failed_at is not None):
            return
        if self.spec.rule(rule_id).operation in self.exchanger.unsupported:  # met in passing: not judged
            return
        if not stop and rule_id in self.plan.skipped:
            return  # met in passing, but the plan judges it not (it would be, or not, as rules happen to run)
        if deviation is None:
            self.results.tried(rule_id)
            return
        if not isinstance(deviation, Deviation):
            deviation = Deviation(str(deviation))
        level = weakest(self.spec.rule(rule_id).level, deviation.level, request.expected.level)
        explicit = state.canonical or id(request) in state.explicit
        evidence = self.evidence(request, response, deviation.message, level, minimal=explicit,
                                 steps=self._trail_steps() if trail else None)
        self.results.tried(rule_id, evidence)
        if not stop or (explicit and not deviation_fails_run(level)):
            return
        if state.failed_at is None:
            state.failed_at = time.perf_counter()
        if self.plan.live and self.spec.rule(rule_id).kind == "lifecycle":
            return  # on a live target a program is not shrunk: each replay would register its users again
        raise (RuleFailure if deviation_fails_run(level) else AdvisoryDeviation)(rule_id, deviation.message, evidence)

    def evidence(self, request: Request, response, message: str, level: str, minimal: bool = False,
                 steps: list[dict] | None = None) -> Evidence:
        """The redacted evidence of a deviation. Minimal: Hypothesis's final replay of its shrunk example, or a
        boundary example (never shrunk: the smallest case of its kind already). `steps`: its stand-alone
        reproduction (conformance/reporting/reproduction.py); by default derived from what the request assumes."""
        exchanger = self.exchanger
        if steps is None:
            steps = reproduction.request_steps(self.spec, exchanger.preparation, exchanger.transport,
                                               exchanger.labels_of, request, response)
        final = final_replay()
        cut_short = final and self.state.shrink_time_up()
        redact = self.redactor.redact
        sent = response.sent.as_dict() if getattr(response, "sent", None) is not None else {}
        return Evidence(
            request=redact({**sent, **request.describe()}),
            response=redact({"status": response.status, "headers": dict(response.headers),
                             "body": response.body.decode("utf-8", "replace")[:4000]}),
            curl=redact(exchanger.transport.curl(request)), seed=self.seed, message=redact(message),
            minimal=final or minimal, shrink_cut_short=cut_short, level=level,
            server_log=tuple(redact(list(getattr(response, "server_log", ())))), steps=tuple(redact(steps)))

    def has_rule(self, rule_id: str) -> bool:
        """Whether the rule is judged in this run: a lifecycle program judges in passing only the rules chosen."""
        return rule_id in self.results.rules and (self.selected is None or rule_id in self.selected)

    # -- what a lifecycle program sent: the steps of its evidence ----------------------

    def begin_trail(self) -> None:
        """From here on, remember what this thread sends (a lifecycle program, from its first request)."""
        self.state.trail = []

    def _on_sent(self, sent) -> None:
        trail = self.state.trail
        if trail is not None:
            trail.append(sent)

    def _trail_steps(self) -> list[dict]:
        return reproduction.trail_steps(self.spec, self.exchanger.transport, self.exchanger.labels_of,
                                        list(self.state.trail or []))

    # -- how a verdict is shown ---------------------------------------------------------

    def accepted(self, result) -> bool:
        """Whether the baseline accepts this rule's deviation (it then neither fails the run nor hides a new one)."""
        return self.baseline is not None and self.baseline.accepts(result.rule.id, result.status)

    def failure_text(self, result) -> str:
        """A deviation as the console shows it: the rule, its strength, the answer, and how to reproduce it."""
        return str(RuleFailure(result.rule.id, result.message, result.example, self.rerun(result)))

    def rerun(self, result) -> str:
        """The command that judges this rule again as this run did (the options that shaped it included)."""
        config = self.config
        return rerun_command(config.target, config.profile, result.example.seed if result.example else self.seed,
                             result.rule.id, {flag: list(v) if isinstance(v, tuple) else v for flag, v in config.options})
