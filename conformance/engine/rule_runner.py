"""Judging one rule with Hypothesis: its strategy and boundary examples, its settings and shrinking time, each drawn
request exercised (asked of the exchanger, checked, recorded), and a verdict settled when no example gave one.
A lifecycle rule runs the state machine of conformance/engine/lifecycle.py through a LifecycleDriver."""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import replace

from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from qsconform import strategies
from qsconform.conformance.engine import budget, interrupt
from qsconform.conformance.engine.exchanger import Exchanger
from qsconform.conformance.engine.preparation import NotPrepared
from qsconform.conformance.engine.rule_state import CapReached, NotJudged, RuleState, Stopped, final_replay
from qsconform.conformance.engine.verdicts import VerdictRecorder, only_deviations
from qsconform.conformance.judging.checks import Exchange, applies, run_check
from qsconform.conformance.judging.results import Results
from qsconform.spec.model import InputRule, LifecycleRule, ResponseRule, Rule, Spec
from qsconform.spec.request import Request

def request_size(request: Request) -> int:
    return len(request.body_bytes()) + sum(len(str(value)) for value in request.path_params.values())


def unsent_message(rule: Rule) -> str:
    """Why the suite sends nothing for a rule (its message as an unsent rule)."""
    return f"not sent: {rule.why}" if rule.why else "not sent"


def rule_examples(spec: Spec, config: strategies.StrategyConfig, plan: budget.Plan | None, rule: Rule) -> list[Request]:
    """Boundary cases that bear on a rule, run before the random draws. A response rule about refusals sees every
    invalid one: their answers are cached from the input rules that sent them. With a live target's `plan`, the
    creating operation's valid examples are the plan's registrations: its boundary examples packed into a few
    users (conformance/engine/budget.py)."""
    out = []
    planned = plan is not None and rule.operation == spec.setup_operation
    for req in strategies.boundary_examples(rule.operation, config, spec=spec):
        if isinstance(rule, ResponseRule):
            if rule.judges(valid=req.expected.is_success) and not (planned and req.expected.is_success):
                out.append(req)
        elif req.expected.rule_id == rule.id:
            out.append(req)
    if plan is not None and planned and isinstance(rule, ResponseRule) and rule.judges(valid=True):
        out += plan.registrations
    return out


class RuleRunner:
    """Judges rules one at a time per thread (`judge`); their verdicts land in `results` through `recorder`.
    `profile`: examples, programs and shrinking time (a PROFILES entry); `max_examples`, `shrink_seconds`: the
    run's overrides (None: the profile's); `cassette`: under --record, each exchange labelled with its rule."""

    def __init__(self, spec: Spec, exchanger: Exchanger, recorder: VerdictRecorder, state: RuleState, *,
                 strategy_config: strategies.StrategyConfig, plan: budget.Plan, profile: dict, seed: int,
                 max_examples: int | None = None, shrink_seconds: float | None = None, cassette=None):
        self.spec, self.exchanger, self.recorder, self.state = spec, exchanger, recorder, state
        self.strategy_config, self.plan, self.profile, self.seed = strategy_config, plan, profile, seed
        self.max_examples, self.shrink_seconds, self.cassette = max_examples, shrink_seconds, cassette
        self.results: Results = recorder.results

    # -- hypothesis -----------------------------------------------------------------

    def shrinking_time(self) -> float | None:
        """How long a failed rule's request is shrunk (None: until Hypothesis is done)."""
        limit = self.profile["shrink_seconds"] if self.shrink_seconds is None else self.shrink_seconds
        return None if limit is None or math.isinf(limit) else limit

    def settings(self, stateful: bool = False) -> settings:
        examples = self.max_examples
        if examples is None:
            examples = self.profile["stateful_examples" if stateful else "max_examples"]
        # --examples 0: the boundary examples alone (what they catch must not depend on the seed).
        phases = [Phase.explicit, Phase.generate, Phase.shrink] if examples else [Phase.explicit]
        extra = {"stateful_step_count": self.profile["stateful_steps"]} if stateful else {}
        # Several bugs: a failure and an advisory of one rule are shrunk apart, each to its minimal example.
        return settings(max_examples=max(examples, 1), database=None, deadline=None, phases=phases,
                        print_blob=True, report_multiple_bugs=True,
                        suppress_health_check=list(HealthCheck), **extra)

    def strategy_for(self, rule: InputRule | ResponseRule):
        cfg, spec = self.strategy_config, self.spec
        if isinstance(rule, InputRule):
            return strategies.invalid_requests(rule.operation, cfg, rule_id=rule.id, spec=spec)
        valid, invalid = rule.judges(valid=True), rule.judges(valid=False)
        if not invalid:
            return strategies.valid_requests(rule.operation, cfg, spec=spec)
        if not valid:
            return strategies.invalid_requests(rule.operation, cfg, spec=spec)
        return st.one_of(strategies.valid_requests(rule.operation, cfg, spec=spec),
                         strategies.invalid_requests(rule.operation, cfg, spec=spec))

    def examples_for(self, rule: Rule) -> list[Request]:
        """Boundary cases that bear on the rule, run before the random draws (rule_examples); none for a rule the
        plan does not judge."""
        if rule.id in self.plan.skipped:
            return []
        return rule_examples(self.spec, self.strategy_config, self.plan if self.plan.live else None, rule)

    def hypothesis_test(self, rule: InputRule | ResponseRule):
        """The property test of one rule, ready to call."""
        def body(request: Request) -> None:
            self.exercise(rule, request)

        test = given(self.strategy_for(rule))(body)
        # Smallest first, so that a rule every example breaks is reported with the smallest one
        # (explicit examples are not shrunk; Hypothesis runs the last one applied first).
        explicit = sorted(self.examples_for(rule), key=request_size, reverse=True)
        self.state.explicit = frozenset(id(req) for req in explicit)
        for req in explicit:
            test = example(req)(test)
        return seed(self.seed)(self.settings()(test))

    # -- judging a rule -------------------------------------------------------------

    def judge(self, rule: Rule) -> None:
        """Judge a rule, its exchanges recorded as its own (under --record); the verdict lands in `results`."""
        with self.cassette.judging(rule.id) if self.cassette is not None else contextlib.nullcontext():
            self.check_rule(rule)

    def check_rule(self, rule: Rule) -> None:
        """Run the rule's property test; the verdict lands in self.results (read it there: `verdict`)."""
        unsupported = self.exchanger.unsupported.get(rule.operation)
        if rule.kind == "lifecycle":
            unsupported = unsupported or self.exchanger.unsupported.get(self.spec.setup_operation)
        if unsupported:
            self.results.set(rule.id, "unsupported", unsupported)
            return
        if rule.id in self.plan.skipped:
            self.results.set(rule.id, "skipped", self.plan.skipped[rule.id])
            return
        if isinstance(rule, LifecycleRule) and rule.read_back \
                and not self.exchanger.helper_supported(rule.read_back[0]):
            self.results.set(rule.id, "inconclusive", f"the target does not offer {rule.read_back[0]}: what an "
                             f"update changed cannot be read back")
            return
        state = self.state
        state.registered = state.accepted = state.held_back = 0
        state.capped = None
        state.quota = self._quota(rule)
        try:
            if isinstance(rule, LifecycleRule):
                self._check_lifecycle(rule)
            elif isinstance(rule, (InputRule, ResponseRule)):
                judged = rule  # as narrowed, for the test below
                self.run_property(rule, lambda: self.hypothesis_test(judged)())
            else:
                raise TypeError(f"no way to judge a {rule.kind} rule")
        finally:
            if state.held_back:
                self.results.held_back(rule.id, state.held_back)
            if state.capped:
                self.results.set(rule.id, "skipped", state.capped)

    def _quota(self, rule: Rule) -> int | None:
        """The registrations a rule's random examples (a lifecycle rule's programs) may make; None: no limit."""
        if not self.plan.live:
            return None
        if rule.kind == "lifecycle":
            return self.plan.lifecycle.get(rule.id, 0)
        return self.plan.quotas.get(rule.id, 0)

    def _check_lifecycle(self, rule: LifecycleRule) -> None:
        from qsconform.conformance.engine.lifecycle import canonical_program, lifecycle_test

        # The canonical program judges the rule whatever the seed; it is the smallest program there is, so what
        # it finds is minimal. A failure there ends the rule; an advisory does not. Each lifecycle rule's machine
        # works on users of its own prefix, so that rules judged side by side never touch each other's users.
        driver = LifecycleDriver(self, rule)
        self.run_property(rule, lambda: canonical_program(driver, rule), bounded_shrinking=False, canonical=True)
        if self.results.rules[rule.id].status == "failed" or self.max_examples == 0:
            return  # --examples 0: the canonical program is a lifecycle rule's boundary example
        # A lifecycle program must replay step for step while it is shrunk (a step passed over would change what
        # the machine draws next), so no shrinking time applies; its programs are short.
        self.run_property(rule, lambda: lifecycle_test(driver, rule)(), bounded_shrinking=False)

    def run_property(self, rule: Rule, test, bounded_shrinking: bool = True, canonical: bool = False) -> None:
        """Call a Hypothesis test that judges `rule`; settle a verdict no example gave. Deviations are recorded as
        they happen (VerdictRecorder.judge); what Hypothesis raises for them at the end says nothing more."""
        from hypothesis.errors import Unsatisfiable, UnsatisfiedAssumption

        started = time.perf_counter()
        state = self.state
        state.failed_at, state.rejected, state.canonical = None, None, canonical
        state.explicit = frozenset()  # hypothesis_test fills it for its own boundary examples
        state.shrink_seconds = self.shrinking_time() if bounded_shrinking else None
        tried_before = self.results.rules[rule.id].tried
        try:
            with interrupt.unwrapped():  # a Ctrl-C while drawing may come back as a library's own error
                test()
        except (Unsatisfiable, UnsatisfiedAssumption):  # the latter from a program set aside outside Hypothesis
            self.results.set(rule.id, *self.unsatisfiable(rule))
        except NotJudged as exc:
            self.results.set(rule.id, exc.status, exc.why)
        except (KeyboardInterrupt, Stopped):
            # Cut short: what its examples showed so far is no verdict, unless a deviation (that one stays).
            tried = self.results.rules[rule.id].tried - tried_before
            self.results.set(rule.id, "not-run", f"cut short after {tried} example(s): the run ended first")
            raise
        except BaseException as exc:  # noqa: BLE001 - deviations are recorded already; anything else is a bug
            if not only_deviations(exc):
                raise
        finally:
            self.results.add_time(rule.id, time.perf_counter() - started)
        if self.results.rules[rule.id].tried == tried_before \
                and self.results.rules[rule.id].status in ("deselected", "not-run"):
            why = (f"every example was set aside; the last: {state.rejected}" if state.rejected
                   else "no example reached the rule (every answer was outside its scope)")
            self.results.set(rule.id, "inconclusive", why)

    def unsatisfiable(self, rule: Rule) -> tuple[str, str]:
        """Why no request could be drawn for a rule: this run's configuration (skipped), or the spec (unsent)."""
        if self.state.rejected:
            return "inconclusive", self.state.rejected
        if rule.is_input and not strategies.breakable_alone(rule.operation, rule.id, spec=self.spec):
            return "unsent", ("not sent: no request breaks this rule alone; every violation also breaks a rule "
                              "whose fate no source tells, so a refusal could be for either")
        return "skipped", "needs configuration this run lacks (e.g. --iam-arn on a live target)"

    # -- exercising -----------------------------------------------------------------

    def shrink_spent(self) -> bool:
        """Whether the rule under test failed and its shrinking time is up. The examples Hypothesis then tries are
        passed over unsent, so that it soon settles on the smallest failing one; its final replay is sent."""
        return self.state.shrink_time_up() and not final_replay()

    def exercise(self, rule: InputRule | ResponseRule, request: Request) -> None:
        if self.shrink_spent() or self.state.capped or not self._may_send(request):
            return
        op = self.spec[rule.operation]
        try:
            response = self.exchanger.answer(request)
        except NotPrepared as exc:
            self.set_aside(str(exc))
        except CapReached as exc:  # passed over: raised to Hypothesis, it would take it for a failure
            self.state.capped = exc.why
            return
        if self.plan.live and self.exchanger.creates(request) and not request.expected.is_success \
                and 200 <= response.status < 300:
            self.state.accepted += 1
        exchange = Exchange(op=op, request=request, response=response, region=self.exchanger.target.region)
        if isinstance(rule, ResponseRule) and not applies(rule, exchange):
            return
        self.recorder.judge(rule.id, request, response, run_check(rule, exchange))

    def _may_send(self, request: Request) -> bool:
        """On a live target, whether the rule under test may ask about a request that can register a user: a
        planned registration always; a random valid one while the rule's quota lasts; an invalid one until the
        target has wrongly accepted ACCEPTED_ALLOWANCE of the rule's. Counted per rule, whether the answer is
        asked or found in the cache, so that a rule's examples never depend on which rule asked first. The
        example Hypothesis replays last (sent before, its answer cached) is never held back."""
        if not self.plan.live or not self.exchanger.creates(request) or final_replay():
            return True
        state = self.state
        if request.expected.is_success:
            if self.exchanger.planned(request):
                return True
            if state.registered < (state.quota or 0):
                state.registered += 1
                return True
        elif state.accepted < budget.ACCEPTED_ALLOWANCE:
            return True
        self.hold_back()
        return False

    def hold_back(self) -> None:
        """An example not sent for want of a registration (live targets): counted for the rule and the run."""
        self.state.held_back += 1
        self.exchanger.spending.hold_back()

    def set_aside(self, why: str) -> None:
        """This example cannot be judged (the target's state could not be prepared): draw another.
        The other rules see the refusal itself (a valid registration refused fails success-status)."""
        from hypothesis import reject

        self.state.rejected = why
        reject()


class LifecycleDriver:
    """What a lifecycle rule's machine (conformance/engine/lifecycle.py Driver) asks of the run: its users under a prefix
    of their own (the run's prefix, then the rule's place among the lifecycle rules), every request sent now."""

    def __init__(self, runner: RuleRunner, rule: Rule):
        self.runner, self.spec, self.seed = runner, runner.spec, runner.seed
        self.exchanger, self.recorder, self.state = runner.exchanger, runner.recorder, runner.state
        lifecycle = [r.id for r in self.spec.rules if r.kind == "lifecycle"]
        prefix = f"{self.exchanger.prefix}l{lifecycle.index(rule.id)}-"
        self.strategy_config = replace(runner.strategy_config, user_prefix=prefix)
        self.region = self.exchanger.target.region

    def settings(self, stateful: bool = False) -> settings:
        return self.runner.settings(stateful)

    def send_fresh(self, request: Request):
        """Sent now, not answered from the cache, replayed when its answer is lost; None when --max-users allows no
        more registrations (the step is passed over, and the rule ends skipped). A program whose request could
        not be replayed is set aside."""
        try:
            return self.exchanger.send_replaying(request)
        except CapReached as exc:
            self.state.capped = exc.why
            return None
        except NotPrepared as exc:
            self.runner.set_aside(str(exc))

    def may_register(self) -> bool:
        """Whether the rule may register one more user: always on a loopback target; on a live one while its quota
        lasts (conformance/engine/budget.py), and not once it has failed (its programs are not shrunk there). Counted."""
        if not self.runner.plan.live:
            return True
        state = self.state
        if state.capped or state.failed_at is not None:
            return False
        if state.registered >= (state.quota or 0):
            self.runner.hold_back()
            return False
        state.registered += 1
        return True

    def role_changed(self, request: Request) -> Request:
        """On a live target, an update of `request` that gives the user the plan's other role: the one update
        that changes a role (every other keeps the cheapest). Unchanged on a loopback target."""
        plan = self.runner.plan
        member = budget.role_member(self.spec, request.operation)
        if not plan.live or plan.role_change is None or member not in (request.body or {}):
            return request
        return replace(request, body={**request.body, member: plan.role_change})

    def ensure_absent(self, name: str) -> None:
        """A user of this run deleted before it is registered again, or the example set aside."""
        try:
            self.exchanger.preparation.ensure_absent(name)
        except NotPrepared as exc:
            self.runner.set_aside(str(exc))

    def describe(self, labels, again: int = 0):
        return self.exchanger.describe(labels, again)

    def can_delete(self) -> bool:
        return self.exchanger.can_delete()

    def has_rule(self, rule_id: str) -> bool:
        return self.recorder.has_rule(rule_id)

    def judge(self, rule_id: str, request, response, deviation, stop: bool = True, trail: bool = False) -> None:
        self.recorder.judge(rule_id, request, response, deviation, stop=stop, trail=trail)

    def begin_trail(self) -> None:
        self.recorder.begin_trail()
