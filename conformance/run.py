"""One conformance run: the target, what the run created there, and how a rule is exercised.

The pytest suite (conformance/suite) asks a `Run` for a rule's strategy and
hands every drawn request to `Run.exercise`, which sends it, evaluates the
rule's check, records the verdict and raises `RuleFailure` so that
Hypothesis shrinks the request to a minimal one.

Do no harm: users are created only under the run's prefix (the strategies
name them), a user is updated or deleted only if this run created it, live
targets register what the run's plan allows (conformance/budget.py: a quota
per rule, `max_users` in all), and `cleanup()` deletes what the run created,
on success, failure and interruption alike.
"""
from __future__ import annotations

import contextlib
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from qsconform import strategies
from qsconform.conformance import budget, interrupt
from qsconform.conformance.checks import NOT_APPLICABLE, Deviation, Exchange, applies, expected_user_name, run_check, user_name_of
from qsconform.conformance.ledger import UserLedger
from qsconform.conformance.options import rerun_command
from qsconform.conformance.preparation import NotPrepared, Preparation
from qsconform.conformance.results import SHOWN_SERVER_ERRORS, Evidence, Results
from qsconform.conformance.transport import AnswerLost
from qsconform.conformance.users import delete_user, exists, kinds, listed_names, unnamed_kind
from qsconform.spec.model import OperationSpec, Rule, Spec, deviation_fails_run, weakest
from qsconform.spec.request import Expected, Request

PROFILES = {
    # max_examples: random examples per rule (a rule is one pytest test), after its boundary examples.
    # stateful_examples, stateful_steps: programs run by the lifecycle machine, and their length.
    # shrink_seconds: how long a failed rule's request is shrunk before the smallest found so far is
    # reported (None: until Hypothesis is done). Shrinking sends every candidate, so it is bounded.
    # How long each profile takes: docs/speed.md.
    "quick": {"max_examples": 3, "stateful_examples": 8, "stateful_steps": 8, "shrink_seconds": 1.0},
    "default": {"max_examples": 30, "stateful_examples": 30, "stateful_steps": 15, "shrink_seconds": 10.0},
    "thorough": {"max_examples": 200, "stateful_examples": 200, "stateful_steps": 30, "shrink_seconds": None},
}
# Before each re-read of an update on a live target, this many seconds times the re-read's number (1, 2, 3...):
# a real API may take a moment to show it everywhere. How many reads is the spec's (read_back); a target the run
# started itself, whose reads are as fresh as its writes, is read again at once.
LIVE_REREAD_PAUSE = 1.0


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


class Stopped(BaseException):
    """The run is closing (an interrupt, a failure elsewhere): a rule still being judged sends nothing more.
    A BaseException, as KeyboardInterrupt is: Hypothesis must not take it for a failure to shrink."""


LOST_REPLAYS = 3  # times a request whose answer was lost is sent again, the target put back as it assumes


class Lost(NotPrepared):
    """The answer to a request that changes the target was lost. What it did was read back (DescribeUser) into the
    ledger; the request is replayed with the target prepared again (Run.send_prepared), or its example set aside:
    never judged by what a retry got."""


class NotJudged(Exception):
    """The rule gets no verdict from its examples: `status` (inconclusive, skipped, unsent) says why."""

    def __init__(self, status: str, why: str):
        super().__init__(why)
        self.status, self.why = status, why


class CapReached(NotJudged):
    """A registration --max-users does not allow any more (live targets): nothing was sent. Never raised to
    Hypothesis: the example that meets it is passed over, and its rule ends skipped (Run.exercise)."""

    def __init__(self, why: str):
        super().__init__("skipped", why)


@dataclass(frozen=True)
class RunConfig:
    target: str = "moto"
    region: str | None = None  # None: the region AWS configuration names, else us-east-1
    account_id: str | None = None
    namespace: str = "default"
    profile: str = "default"
    seed: int | None = None
    live: bool = False
    max_users: int = 20
    iam_arns: tuple[str, ...] = ()
    custom_permissions_name: str | None = None
    aws_profile: str | None = None
    faults: tuple[str, ...] = ()  # --target reference only
    max_examples: int | None = None  # overrides the profile's examples per rule (0: boundary examples only)
    shrink_seconds: float | None = None  # overrides the profile's shrinking time (math.inf: unbounded)
    strict: bool = False  # advisories (SHOULD deviations) fail the run too
    concurrency: int | None = None  # rules judged side by side (conformance/side_by_side.py); None: the target's default
    # The command-line options that shaped the run, (flag, value) pairs (options.reproducing): a rerun carries them.
    options: tuple[tuple[str, object], ...] = ()
    prefix: str = field(default_factory=lambda: f"qsc-{secrets.token_hex(4)}-")


class _Judging(threading.local):
    """What a Run knows of the rule the calling thread is judging (rules may be judged side by side)."""

    rejected: str | None = None  # why the last example was set aside
    failed_at: float | None = None  # when the rule under test first failed
    shrink_seconds: float | None = None  # the rule under test's shrinking time (None: unbounded)
    explicit: frozenset = frozenset()  # ids of the rule under test's boundary examples
    canonical: bool = False  # judging the lifecycle's canonical program (deterministic, minimal)
    trail: list | None = None  # what a lifecycle program sent so far (transport.Sent), for its evidence's steps
    # What the rule under test may still register on a live target (conformance/budget.py); None: no limit.
    quota: int | None = None
    registered: int = 0  # registrations its examples made or found made (its own count: the quota's)
    accepted: int = 0  # its invalid registrations the target accepted
    held_back: int = 0  # its examples not sent for want of a registration
    capped: str | None = None  # why --max-users stopped it (the run's count: a target that accepts too much)


class _Restoring(threading.local):
    active = False  # the calling thread's preparation is registering a user again


class NameLocks:
    """Per user name, a lock readers share: requests that change nothing on a target that keeps to the spec
    (a refusal expected, the target already as the request assumes) share the name; preparing the target
    and sending a request that changes it (a registration, an update) has the name alone. Writers first: a
    writer waiting holds new readers back."""

    def __init__(self):
        self._changed = threading.Condition()
        self._readers: dict[str, int] = {}
        self._writing: set[str] = set()
        self._waiting: dict[str, int] = {}  # writers waiting, per name

    @contextlib.contextmanager
    def shared(self, name: str):
        with self._changed:
            while name in self._writing or self._waiting.get(name):
                self._changed.wait()
            self._readers[name] = self._readers.get(name, 0) + 1
        try:
            yield
        finally:
            with self._changed:
                self._readers[name] -= 1
                if not self._readers[name]:
                    del self._readers[name]
                    self._changed.notify_all()

    @contextlib.contextmanager
    def alone(self, name: str | None):
        if name is None:
            yield
            return
        with self._changed:
            self._waiting[name] = self._waiting.get(name, 0) + 1
            try:
                while name in self._writing or self._readers.get(name):
                    self._changed.wait()
            finally:
                self._waiting[name] -= 1
                if not self._waiting[name]:
                    del self._waiting[name]
            self._writing.add(name)
        try:
            yield
        finally:
            with self._changed:
                self._writing.discard(name)
                self._changed.notify_all()


def request_size(request: Request) -> int:
    return len(request.body_bytes()) + sum(len(str(value)) for value in request.path_params.values())


class Run:
    def __init__(self, config: RunConfig, spec: Spec, target, transport):
        self.config, self.spec, self.target, self.transport = config, spec, target, transport
        self.seed = config.seed if config.seed is not None else secrets.randbelow(2**32)
        self.results = Results(spec)
        self.redactor = target.redactor  # knows the credentials in use, refreshed ones included
        self.ledger = UserLedger(config.prefix)
        self.plan: budget.Plan | None = None  # live targets: what the run may register (plan_for)
        self.spending = budget.Spending()
        self._planned: dict[tuple, object] = {}  # the planned registrations' answers, never evicted
        self._planned_keys: frozenset = frozenset()
        self._unanswered = 0  # registrations sent whose answer never came: perhaps users, counted as such
        self._unplanned = 0  # users registered outside the plan (or perhaps: no answer came)
        self._reserved_unplanned = 0
        self._restoring = _Restoring()
        self.preparation = Preparation(spec, self.ledger, self._send_restoring, transport.call, self._labels_of)
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self.unsupported: dict[str, str] = {}  # operation -> why
        self._server_errors: list[dict] = []  # documented 500/503 answers that passed on retry (or did not)
        self._lost: list[str] = []  # the operations of requests whose answer was lost (read back, replayed)
        self.unnamed = 0  # registrations the target answered with no UserName (moto's IAM identities)
        self.left_kinds: list[dict] = []  # the users left behind, by kind (users.kinds), after cleanup
        self._helpers: dict[str, bool] = {}
        self._judging = _Judging()
        self._names = NameLocks()
        self._creating = threading.Condition()  # guards the counts of registrations made and in flight (--max-users)
        self._reserved = 0
        self._stopped = threading.Event()  # set by stop(): no request is sent any more
        self.ahead = None  # conformance/side_by_side.py: rules judged ahead of pytest, side by side
        self.concurrency = 1  # how many rules at once (RunSession.judge_ahead sets it)
        self.left_behind: list[str] = []  # users cleanup() could not delete
        self.selected: frozenset[str] | None = None  # the rules chosen for the run (plan_for; None: every rule)
        self.cassette = None  # set by the plugin under --record
        self.baseline = None  # set by the plugin under --baseline: the deviations a team has accepted
        transport.observers.append(self._on_sent)
        self.strategy_config = strategies.StrategyConfig(
            account_id=target.account_id, namespace=config.namespace, user_prefix=config.prefix,
            iam_arns=config.iam_arns, synthetic_iam_arns=not target.live, live_safe=target.live,
            custom_permissions_name=config.custom_permissions_name, partition=target.partition,
        )
        if target.live:  # every user gets the cheapest role, but for the rules about the role
            self.strategy_config = budget.live_config(spec, self.strategy_config)

    # -- the plan (live targets) ------------------------------------------------------

    def plan_for(self, rules) -> budget.Plan:
        """Plan the registrations of a run judging `rules` (conformance/budget.py). On a live target the plan
        rules: UpdateUser's examples name the users it prepares. Loopback runs send what they always sent."""
        profile = PROFILES[self.config.profile]
        examples = self.config.max_examples
        self.selected = frozenset(r.id for r in rules)
        self.plan = budget.plan_run(
            self.spec, self.strategy_config, rules, live=self.target.live, max_users=self.config.max_users,
            random_examples=profile["max_examples"] if examples is None else examples,
            programs=profile["stateful_examples"] if examples is None else examples)
        if self.target.live:
            self.strategy_config = replace(self.strategy_config, update_user_names=self.plan.prepared)
            self._planned_keys = frozenset(self.cache_key(r) for r in self.plan.registrations)
        return self.plan

    @property
    def budgeted(self) -> bool:
        """Whether registrations are planned and counted per rule (a live target)."""
        return self.plan is not None and self.plan.live

    def register_planned(self) -> None:
        """Send the plan's registrations before any rule starts; their answers are kept for every rule."""
        for request in self.plan.registrations if self.budgeted else ():
            key = self.cache_key(request)
            if key not in self._planned:
                try:
                    self.preparation.prepare(request)
                    self._planned[key] = self._remember(request, self.send_uncached(request))
                except (NotPrepared, NotJudged):
                    continue  # its rules meet it again and settle it

    # -- hypothesis -----------------------------------------------------------------

    def shrinking_time(self) -> float | None:
        """How long a failed rule's request is shrunk (None: until Hypothesis is done)."""
        limit = self.config.shrink_seconds
        limit = PROFILES[self.config.profile]["shrink_seconds"] if limit is None else limit
        return None if limit is None or math.isinf(limit) else limit

    def settings(self, stateful: bool = False) -> settings:
        profile = PROFILES[self.config.profile]
        examples = self.config.max_examples
        if examples is None:
            examples = profile["stateful_examples" if stateful else "max_examples"]
        # --examples 0: the boundary examples alone (what they catch must not depend on the seed).
        phases = [Phase.explicit, Phase.generate, Phase.shrink] if examples else [Phase.explicit]
        extra = {"stateful_step_count": profile["stateful_steps"]} if stateful else {}
        # Several bugs: a failure and an advisory of one rule are shrunk apart, each to its minimal example.
        return settings(max_examples=max(examples, 1), database=None, deadline=None, phases=phases,
                        print_blob=True, report_multiple_bugs=True,
                        suppress_health_check=list(HealthCheck), **extra)

    def strategy_for(self, rule: Rule):
        cfg, spec = self.strategy_config, self.spec
        if rule.is_input:
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
        if self.plan is not None and rule.id in self.plan.skipped:
            return []
        return rule_examples(self.spec, self.strategy_config, self.plan if self.budgeted else None, rule)

    def hypothesis_test(self, rule: Rule):
        """The property test of one rule, ready to call."""
        def body(request: Request) -> None:
            self.exercise(rule, request)

        test = given(self.strategy_for(rule))(body)
        # Smallest first, so that a rule every example breaks is reported with the smallest one
        # (explicit examples are not shrunk; Hypothesis runs the last one applied first).
        explicit = sorted(self.examples_for(rule), key=request_size, reverse=True)
        self._judging.explicit = frozenset(id(req) for req in explicit)
        for req in explicit:
            test = example(req)(test)
        return seed(self.seed)(self.settings()(test))

    def judge_rule(self, rule: Rule) -> None:
        """Judge a rule (its exchanges recorded as its own): wait for it if it is judged ahead, side by side."""
        if self.ahead is not None and self.ahead.holds(rule):
            self.ahead.wait(rule)
            return
        with self.recording(rule):
            self.check_rule(rule)

    def check_rule(self, rule: Rule) -> None:
        """Run the rule's property test; the verdict lands in self.results (read it there: `verdict`)."""
        unsupported = self.unsupported.get(rule.operation)
        if rule.kind == "lifecycle":
            unsupported = unsupported or self.unsupported.get(self.setup_operation_name)
        if unsupported:
            self.results.set(rule.id, "unsupported", unsupported)
            return
        if self.plan is not None and rule.id in self.plan.skipped:
            self.results.set(rule.id, "skipped", self.plan.skipped[rule.id])
            return
        if rule.kind == "lifecycle" and rule.read_back and not self.helper_supported(rule.read_back[0]):
            self.results.set(rule.id, "inconclusive", f"the target does not offer {rule.read_back[0]}: what an "
                             f"update changed cannot be read back")
            return
        state = self._judging
        state.registered = state.accepted = state.held_back = 0
        state.capped = None
        state.quota = self._quota(rule)
        try:
            self._check_rule(rule)
        finally:
            if state.held_back:
                self.results.held_back(rule.id, state.held_back)
            if state.capped:
                self.results.set(rule.id, "skipped", state.capped)

    def _quota(self, rule: Rule) -> int | None:
        """The registrations a rule's random examples (a lifecycle rule's programs) may make; None: no limit."""
        if not self.budgeted:
            return None
        if rule.kind == "lifecycle":
            return self.plan.lifecycle.get(rule.id, 0)
        return self.plan.quotas.get(rule.id, 0)

    def _check_rule(self, rule: Rule) -> None:
        if rule.kind == "lifecycle":
            from qsconform.conformance.lifecycle import canonical_program, lifecycle_test

            # The canonical program judges the rule whatever the seed; it is the smallest program there
            # is, so what it finds is minimal. A failure there ends the rule; an advisory does not.
            # Each lifecycle rule's machine works on users of its own (its own prefix), so that rules
            # judged side by side never touch the users a program relies on.
            own = self.lifecycle_driver(rule)
            self.run_property(rule, lambda: canonical_program(own, rule), bounded_shrinking=False, canonical=True)
            if self.results.rules[rule.id].status == "failed" or self.config.max_examples == 0:
                return  # --examples 0: the canonical program is a lifecycle rule's boundary example
            # A lifecycle program must replay step for step while it is shrunk (a step passed over
            # would change what the machine draws next), so no shrinking time applies; its programs
            # are short (the profile's stateful_steps).
            self.run_property(rule, lambda: lifecycle_test(own, rule)(), bounded_shrinking=False)
            return
        self.run_property(rule, lambda: self.hypothesis_test(rule)())

    def run_property(self, rule: Rule, test, bounded_shrinking: bool = True, canonical: bool = False) -> None:
        """Call a Hypothesis test that judges `rule`; settle a verdict no example gave.

        Deviations are recorded as they happen (`judge`); what Hypothesis raises for them at the end
        (one RuleFailure, or a group when a failure and an advisory were shrunk apart) says nothing more.
        """
        from hypothesis.errors import Unsatisfiable, UnsatisfiedAssumption

        started = time.perf_counter()
        state = self._judging
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
        if self._judging.rejected:
            return "inconclusive", self._judging.rejected
        if rule.is_input and not strategies.breakable_alone(rule.operation, rule.id, spec=self.spec):
            return "unsent", ("not sent: no request breaks this rule alone; every violation also breaks a rule "
                              "whose fate no source tells, so a refusal could be for either")
        return "skipped", "needs configuration this run lacks (e.g. --iam-arn on a live target)"

    def recording(self, rule: Rule):
        """While `rule` is judged, a cassette (under --record) labels each exchange with it."""
        import contextlib

        return self.cassette.judging(rule.id) if self.cassette is not None else contextlib.nullcontext()

    def accepted(self, result) -> bool:
        """Whether the baseline accepts this rule's deviation (it then neither fails the run nor hides a new one)."""
        return self.baseline is not None and self.baseline.accepts(result.rule.id, result.status)

    def failure_text(self, result) -> str:
        """A deviation as the console shows it: the rule, its strength, the answer, and how to reproduce it."""
        return str(RuleFailure(result.rule.id, result.message, result.example, self.rerun(result)))

    def rerun(self, result) -> str:
        """The command that judges this rule again as this run did (the options that shaped it included)."""
        return rerun_command(self.config.target, self.config.profile, result.example.seed if result.example else
                             self.seed, result.rule.id, {flag: list(v) if isinstance(v, tuple) else v
                                                         for flag, v in self.config.options})

    # -- exercising -----------------------------------------------------------------

    def _shrink_time_up(self) -> bool:
        """Whether the rule under test failed and its shrinking time (if bounded) has run out."""
        state = self._judging
        return (state.failed_at is not None and state.shrink_seconds is not None
                and time.perf_counter() - state.failed_at >= state.shrink_seconds)

    @staticmethod
    def _final_replay() -> bool:
        """Whether Hypothesis is replaying the example it settled on (False outside a Hypothesis test)."""
        try:
            return current_build_context().is_final
        except Exception:  # outside a Hypothesis test (the lifecycle machine's own replay)
            return False

    def shrink_spent(self) -> bool:
        """Whether the rule under test failed and its profile's shrinking time is up.

        The examples Hypothesis then tries are passed over unsent, so that it soon settles on the
        smallest failing one found so far; its final replay (which must fail again) is sent.
        """
        return self._shrink_time_up() and not self._final_replay()

    def exercise(self, rule: Rule, request: Request) -> None:
        if self.shrink_spent() or self._judging.capped or not self._may_send(request):
            return
        op = self.spec[rule.operation]
        try:
            response = self.answer(request)
        except NotPrepared as exc:
            self._set_aside(str(exc))
        except CapReached as exc:  # passed over: raised to Hypothesis, it would take it for a failure
            self._judging.capped = exc.why
            return
        if self.budgeted and self._creates(request) and not request.expected.is_success \
                and 200 <= response.status < 300:
            self._judging.accepted += 1
        exchange = Exchange(op=op, request=request, response=response, region=self.target.region)
        if rule.kind == "response" and not applies(rule, exchange):
            return
        self.judge(rule.id, request, response, run_check(rule, exchange))

    def _may_send(self, request: Request) -> bool:
        """On a live target, whether the rule under test may ask about a request that can register a user: a
        planned registration always; a random valid one while the rule's quota lasts; an invalid one until the
        target has wrongly accepted ACCEPTED_ALLOWANCE of the rule's. Counted per rule, whether the answer is
        asked or found in the cache, so that a rule's examples never depend on which rule asked first. The
        example Hypothesis replays last (sent before, its answer cached) is never held back."""
        if not self.budgeted or not self._creates(request) or self._final_replay():
            return True
        state = self._judging
        if request.expected.is_success:
            if self.cache_key(request) in self._planned_keys:
                return True
            if state.registered < (state.quota or 0):
                state.registered += 1
                return True
        elif state.accepted < budget.ACCEPTED_ALLOWANCE:
            return True
        state.held_back += 1
        self.spending.hold_back()
        return False

    def answer(self, request: Request):
        """The target's answer to a request, sent with the target as the request assumes (its user present or
        absent), or the answer it was given so earlier in the run; raises NotPrepared when the target could
        not be prepared.

        Rules judged side by side may ask about requests naming the same user at once. One that expects a
        refusal and finds the target prepared already is sent sharing the name with the others of its kind; its
        answer is kept if a beside request cannot have caused it (a success, or 400 as validation answers).
        Anything else, and every request that changes the user, is sent again with the name alone, the target
        prepared just before: the answer judged is the one a serial run would have had.
        """
        response = self.cached(request)
        if response is not None:
            return response
        name = self.preparation.name_of(request)
        if name is not None and not request.expected.is_success and self.ahead is not None:
            with self._names.shared(name):
                if self.preparation.ready(request):
                    response = self.cached(request)
                    if response is None:
                        try:
                            response = self.send_uncached(request)
                        except Lost:
                            response = None  # replayed below, the name alone
                    if response is not None and (200 <= response.status < 300 or response.status == 400):
                        return self._remember(request, response)
        with self._names.alone(name):
            response = self.cached(request)  # a rule beside this one may have sent it meanwhile
            if response is None:
                response = self._remember(request, self.send_prepared(request))
        return response

    def send_prepared(self, request: Request):
        """The target prepared as the request assumes (its user present or absent), then the request sent; when
        the answer is lost (what it did is read back: send_uncached), prepared again and sent again, up to
        LOST_REPLAYS times, so that the answer judged is one given with the target as the request assumes; then
        NotPrepared (the example is set aside)."""
        for _ in range(LOST_REPLAYS + 1):
            try:
                self.preparation.prepare(request)
                return self.send_uncached(request)
            except Lost as exc:
                lost = exc
        raise NotPrepared(f"{lost} {LOST_REPLAYS + 1} times; set aside")

    def prefetch(self, request: Request) -> None:
        """Ask about a request a rule will ask about (a boundary example), so that its answer waits in the
        cache; nothing is judged. One that cannot be sent now is left to its rule."""
        try:
            self.answer(request)
        except (NotPrepared, NotJudged):
            pass

    def judge(self, rule_id: str, request: Request, response, deviation: "Deviation | str | None",
              stop: bool = True, trail: bool = False) -> None:
        """Record one example of a rule; when it broke the rule and `stop`, raise for Hypothesis to shrink.

        The verdict is as strong as its weakest evidence: the rule's level, the part of it broken
        (`Deviation.level`) and the request's expectation (a request valid by inference only). A
        deviation that fails the run raises RuleFailure, a SHOULD one AdvisoryDeviation; an advisory
        on a boundary example is recorded without stopping, so that the random examples still look
        for a failure. A rule met in passing (`stop` false: the lifecycle machine meets every lifecycle
        rule) is recorded only until the judged rule fails: which steps the shrinker then tries, within
        the profile's shrinking time, is no verdict, and recording them would make verdicts depend on timing.
        `trail`: the evidence's reproduction is what this thread's program sent (begin_trail), not derived.
        """
        if deviation is NOT_APPLICABLE or (not stop and self._judging.failed_at is not None):
            return
        if self.spec.rule(rule_id).operation in self.unsupported:  # met in passing (a lifecycle step): not judged
            return
        if not stop and self.plan is not None and rule_id in self.plan.skipped:
            return  # met in passing, but the plan judges it not (it would be, or not, as rules happen to run)
        if deviation is None:
            self.results.tried(rule_id)
            return
        if isinstance(deviation, str):
            deviation = Deviation(deviation)
        level = weakest(self.spec.rule(rule_id).level, deviation.level, request.expected.level)
        explicit = self._judging.canonical or id(request) in self._judging.explicit
        evidence = self.evidence(request, response, deviation.message, level, minimal=explicit,
                                 steps=self._trail_steps() if trail else None)
        self.results.tried(rule_id, evidence)
        if not stop or (explicit and not deviation_fails_run(level)):
            return
        if self._judging.failed_at is None:
            self._judging.failed_at = time.perf_counter()
        if self.budgeted and self.spec.rule(rule_id).kind == "lifecycle":
            return  # on a live target a program is not shrunk: each replay would register its users again
        raise (RuleFailure if deviation_fails_run(level) else AdvisoryDeviation)(rule_id, deviation.message, evidence)

    def evidence(self, request: Request, response, message: str, level: str, minimal: bool = False,
                 steps: list[dict] | None = None) -> Evidence:
        """The redacted evidence of a deviation. Minimal: Hypothesis's final replay of its shrunk example, or a
        boundary example (never shrunk: the smallest case of its kind already). `steps`: its stand-alone
        reproduction (conformance/reproduction.py); by default derived from what the request assumes."""
        from qsconform.conformance import reproduction

        if steps is None:
            steps = reproduction.request_steps(self.spec, self.preparation, self.transport, self._labels_of,
                                               request, response)
        final = self._final_replay()
        cut_short = final and self._shrink_time_up()
        redact = self.redactor.redact
        sent = response.sent.as_dict() if getattr(response, "sent", None) is not None else {}
        return Evidence(
            request=redact({**sent, **request.describe()}),
            response=redact({"status": response.status, "headers": dict(response.headers),
                             "body": response.body.decode("utf-8", "replace")[:4000]}),
            curl=redact(self.transport.curl(request)), seed=self.seed, message=redact(message),
            minimal=final or minimal, shrink_cut_short=cut_short, level=level,
            server_log=tuple(redact(list(getattr(response, "server_log", ())))), steps=tuple(redact(steps)))

    # -- what a lifecycle program sent: the steps of its evidence ----------------------

    def begin_trail(self) -> None:
        """From here on, remember what this thread sends (a lifecycle program, from its first request)."""
        self._judging.trail = []

    def _on_sent(self, sent) -> None:
        trail = self._judging.trail
        if trail is not None:
            trail.append(sent)

    def _trail_steps(self) -> list[dict]:
        from qsconform.conformance import reproduction

        return reproduction.trail_steps(self.spec, self.transport, self._labels_of, list(self._judging.trail or []))

    def send_uncached(self, request: Request):
        """Send for real (the lifecycle depends on the target's state at this moment)."""
        from qsconform.conformance.transport import Throttled

        interrupt.check()
        if self._stopped.is_set():
            raise Stopped("the run is closing")
        # Until its answer is read and tracked, a request may have created a user the run does not
        # know of: an interrupt (Ctrl-C) or a lost connection can come in between. cleanup() also
        # deletes the names still in flight.
        name = user_name_of(request) if self._creates(request) else None
        try:
            with self._creation(request) as created, \
                    self.ledger.creating(name if isinstance(name, str) else None, refused=(Throttled,)):
                response = self.transport.send(request)
                created.append(self._track(request, response))
        except Throttled as exc:  # refused, so nothing was created
            raise NotJudged("inconclusive", f"still throttled after retries ({exc})") from None
        except AnswerLost as exc:
            if not self._read_back(request):
                raise NotPrepared(f"{exc}; the user it names exists now, and may have before the run: set aside") \
                    from None
            raise Lost(f"{exc}; what it did was read back with DescribeUser") from None
        if response.retried:
            self._note_server_errors(request, response)
        return response


    def _send_restoring(self, request: Request):
        """What preparation sends: a user registered again before an update (outside the plan: its spare)."""
        self._restoring.active = True
        try:
            return self.send_uncached(request)
        finally:
            self._restoring.active = False

    def _read_back(self, request: Request) -> bool:
        """What a request whose answer was lost did to its user, read (DescribeUser) into the ledger: a registration
        that happened is held (to be deleted, or prepared away, like any other), one that did not is forgotten, and
        one nobody can tell stays of unknown fate until cleanup reads it. An update's user is made again before it
        is relied on: what the lost update did to it is not known. Whether the request may be sent again: not a
        registration of a name outside the run's prefix that exists now (it may have existed before the run)."""
        name = user_name_of(request) if self._creates(request) else self.preparation.name_of(request)
        with self._lock:
            self._lost.append(request.operation)
        if not isinstance(name, str):
            return True
        held = self.ledger.holds(name)
        there = exists(self.transport.call, self._labels_of(self.setup_operation_name, UserName=name))
        if self._creates(request):
            self.ledger.settle(name, there, sound=request.expected.kind == "success")
            # A name outside the prefix that exists now is no user of the run's to delete and register again.
            return held or there is not True or name.startswith(self.config.prefix)
        if there is False:
            self.ledger.forget(name)
        else:
            self.ledger.unsettle(name)
        return True

    def answers_lost(self) -> dict:
        """How many answers to requests that change the target were lost, by operation (compliance.json)."""
        with self._lock:
            counts: dict[str, int] = {}
            for operation in self._lost:
                counts[operation] = counts.get(operation, 0) + 1
            return counts

    def _note_server_errors(self, request: Request, response) -> None:
        """A documented 500 or 503 the transport retried: recorded, not judged (the answer after it is)."""
        with self._lock:
            self._server_errors.append({"operation": request.operation,
                                        "retried": [f"{r.status} {r.error_type}" for r in response.retried],
                                        "then": f"{response.status} {response.error_type or ''}".strip()})

    def server_errors_retried(self) -> dict:
        """How many requests met a documented server error and were retried, with the first few."""
        with self._lock:
            return {"requests": len(self._server_errors), "first": self._server_errors[:SHOWN_SERVER_ERRORS]}

    # -- what the lifecycle machine asks (conformance/lifecycle.py Driver) ---------------------

    def lifecycle_driver(self, rule: Rule) -> "_OwnUsers":
        """The run as a lifecycle rule's machine sees it: its users under a prefix of their own
        (the run's prefix, then the rule's place among the lifecycle rules)."""
        lifecycle = [r.id for r in self.spec.rules if r.kind == "lifecycle"]
        prefix = f"{self.config.prefix}l{lifecycle.index(rule.id)}-"
        return _OwnUsers(self, replace(self.strategy_config, user_prefix=prefix))

    @property
    def region(self) -> str:
        return self.target.region

    def send_fresh(self, request: Request):
        """Sent now, not answered from the cache, replayed when its answer is lost (_replaying); None when
        --max-users allows no more registrations (the step is passed over, and the rule ends skipped). A program
        whose request could not be replayed is set aside."""
        try:
            return self._replaying(request)
        except CapReached as exc:
            self._judging.capped = exc.why
            return None
        except NotPrepared as exc:
            self._set_aside(str(exc))

    def _replaying(self, request: Request):
        """send_uncached, not prepared; when the answer is lost, a registration that took effect is deleted again
        (the request assumed its user absent, unless the run held it already) and the request sent again, up to
        LOST_REPLAYS times; then NotPrepared."""
        name = user_name_of(request) if self._creates(request) else None
        held = isinstance(name, str) and self.ledger.holds(name)
        for _ in range(LOST_REPLAYS + 1):
            try:
                return self.send_uncached(request)
            except Lost as exc:
                lost = exc
                if isinstance(name, str) and not held:
                    self.preparation.ensure_absent(name)
        raise NotPrepared(f"{lost} {LOST_REPLAYS + 1} times; set aside")

    def may_register(self) -> bool:
        """Whether the lifecycle rule under test may register one more user: always on a loopback target; on a
        live one while its quota lasts (conformance/budget.py), and not once it has failed (its programs are
        not shrunk there). Counted when it may."""
        if not self.budgeted:
            return True
        state = self._judging
        if state.capped or state.failed_at is not None:
            return False
        if state.registered >= (state.quota or 0):
            state.held_back += 1
            self.spending.hold_back()
            return False
        state.registered += 1
        return True

    def role_changed(self, request: Request) -> Request:
        """On a live target, an update of `request` that gives the user the plan's other role: the one update
        that changes a role (every other keeps the cheapest). Unchanged on a loopback target."""
        member = budget.role_member(self.spec, request.operation)
        if not self.budgeted or self.plan.role_change is None or member not in (request.body or {}):
            return request
        return replace(request, body={**request.body, member: self.plan.role_change})

    def describe(self, labels, again: int = 0):
        """DescribeUser's answer for a user, or None when the target does not offer DescribeUser. `again`: the
        re-read's number, after an answer that did not show an update yet (a live target gets a moment first)."""
        if not self.helper_supported("DescribeUser"):
            return None
        if again and self.target.live and self._stopped.wait(LIVE_REREAD_PAUSE * again):
            raise Stopped("the run is closing")
        return self.transport.call("DescribeUser", dict(labels))

    def can_delete(self) -> bool:
        return self.helper_supported("DeleteUser")

    def has_rule(self, rule_id: str) -> bool:
        """Whether the rule is judged in this run: a lifecycle program judges in passing only the rules chosen."""
        return rule_id in self.results.rules and (self.selected is None or rule_id in self.selected)

    def helper_supported(self, operation: str) -> bool:
        """Whether the target offers a helper operation (DescribeUser, DeleteUser); asked once."""
        if operation not in self._helpers:
            labels = self._labels(self.spec[self.setup_operation_name], UserName=f"{self.config.prefix}absent")
            trail, self._judging.trail = self._judging.trail, None  # a question about the target, no step of a program
            try:
                for _ in range(LOST_REPLAYS + 1):  # a user nobody registered: its delete may be sent again
                    try:
                        answer = self.transport.call(operation, labels)
                        break
                    except AnswerLost:
                        answer = None
            finally:
                self._judging.trail = trail
            self._helpers[operation] = answer is not None and unsupported_reason(answer) is None
        return self._helpers[operation]

    @staticmethod
    def cache_key(request: Request) -> tuple:
        return request.operation, tuple(sorted(request.path_params.items())), request.body_bytes()

    def cached(self, request: Request):
        """The answer this request was given earlier in the run, or None."""
        key = self.cache_key(request)
        with self._lock:
            if key in self._planned:
                return self._planned[key]
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return None

    def send(self, request: Request):
        """Send, with a bounded cache: the response-rule tests of an operation draw the same
        requests (same seed, same strategy, the same boundary examples), so each is sent once."""
        response = self.cached(request)
        if response is not None:
            return response
        return self._remember(request, self._replaying(request))

    def _remember(self, request: Request, response):
        with self._lock:
            self._cache[self.cache_key(request)] = response
            if len(self._cache) > 2048:
                self._cache.popitem(last=False)
        return response

    # -- users this run owns ----------------------------------------------------------

    def _creates(self, request: Request) -> bool:
        return request.operation == self.setup_operation_name

    @property
    def setup_operation_name(self) -> str:
        return self.spec.setup_operation

    def _creation(self, request: Request):
        """On a live target, a registration is sent only while --max-users is not reached, the registrations
        in flight counted, so that rules judged side by side cannot go past the cap together. Yields a list
        the caller appends whether the target created a user to."""
        if not (self.target.live and self._creates(request)):
            return contextlib.nullcontext([])
        name = user_name_of(request)
        if isinstance(name, str) and self.ledger.holds(name):
            return contextlib.nullcontext([])  # a user the run holds: refused, or at most made again (no new user)
        # Valid registrations are the plan's (each within a rule's quota); the others are not: an invalid one
        # the target may accept, a user restored before an update.
        planned = request.expected.is_success and not self._restoring.active
        return self._guarded_creation(planned)

    @contextlib.contextmanager
    def _guarded_creation(self, planned: bool):
        """The run's own count, the last guard. The plan's registrations keep within --max-users; those it does not
        plan (an invalid registration the target accepts, a user restored) within its spare alone, so that they
        never take what a rule was planned. A registration whose answer never came counts (it may be a user)."""
        from qsconform.conformance.transport import Throttled

        spare = self.plan.spare if self.plan is not None else self.config.max_users
        cap = self.config.max_users
        with self._creating:
            # Full once the users made (or perhaps made) reach it; while only registrations in flight fill it, wait
            # for their answers: most are refusals, and a rule must not be stopped by what another rule had in flight.
            while True:
                made = self.spending.registrations + self._unanswered
                if made >= cap or (not planned and self._unplanned >= spare):
                    raise CapReached(f"--max-users {cap} reached on a live target (the target accepted "
                                     "registrations the plan did not expect)")
                if made + self._reserved < cap and (planned or self._unplanned + self._reserved_unplanned < spare):
                    break
                self._creating.wait(0.2)
                interrupt.check()
                if self._stopped.is_set():
                    raise Stopped("the run is closing")
            self._reserved += 1
            self._reserved_unplanned += not planned
        created: list[bool] = []
        answered = False
        try:
            yield created
            answered = True
        except Throttled:
            answered = True  # refused: nothing was created
            raise
        finally:
            with self._creating:
                self._reserved -= 1
                self._reserved_unplanned -= not planned
                self._unanswered += not answered
                self._unplanned += not planned and (not answered or any(created))
                self._creating.notify_all()

    def stop(self) -> None:
        """Send nothing more: rules still being judged end (Stopped) before cleanup() deletes what the run made."""
        self._stopped.set()

    def _track(self, request: Request, response) -> bool:
        """Remember a user the target says it created: named in the answer, else as the request names it.
        Whether it is a new one (a registration that replaced a user the run holds is none)."""
        if not self._creates(request) or not 200 <= response.status < 300:
            return False
        name = None
        if response.is_json and isinstance(response.json_body, dict):
            name = (response.json_body.get("User") or {}).get("UserName")
            if isinstance(response.json_body.get("User"), dict) and not isinstance(name, str):
                with self._lock:
                    self.unnamed += 1  # the target keeps it under no name the run knows (moto: None)
        if not isinstance(name, str):
            name = expected_user_name(Exchange(self.spec[request.operation], request, response, self.target.region))
        new = self.ledger.record(name, sound=request.expected.kind == "success") if isinstance(name, str) else True
        if new:
            member = budget.role_member(self.spec, request.operation)
            self.spending.registered(request.params().get(member) if member else None)
        return new

    def ensure_absent(self, name: str) -> None:
        """A user of this run deleted before it is registered again, or the example set aside."""
        try:
            self.preparation.ensure_absent(name)
        except NotPrepared as exc:
            self._set_aside(str(exc))

    def _set_aside(self, why: str) -> None:
        """This example cannot be judged (the target's state could not be prepared): draw another.
        The other rules see the refusal itself (a valid registration refused fails success-status)."""
        from hypothesis import reject

        self._judging.rejected = why
        reject()

    def _labels(self, op: OperationSpec, **extra) -> dict:
        labels = {"AwsAccountId": self.target.account_id, "Namespace": self.config.namespace}
        return {m.name: labels[m.name] for m in op.uri_members if m.name in labels} | extra

    def _labels_of(self, operation: str, **extra) -> dict:
        return self._labels(self.spec[operation], **extra)

    @property
    def created(self) -> list[str]:
        return self.ledger.created

    @property
    def maybe_created(self) -> list[str]:
        return self.ledger.maybe_created

    def cleanup(self) -> list[str]:
        """Delete every user this run created and still holds, and every name of unknown fate under its prefix, each
        delete whose answer was lost settled by reading; then read what is still listed (ListUsers), delete that
        again and read again (conformance/ledger.py). The names left behind; `left_kinds` groups them by why."""
        delete = lambda name: delete_user(self.transport.call, self._labels_of(self.setup_operation_name,  # noqa: E731
                                                                               UserName=name))
        listed = lambda names: listed_names(self.transport, self.target.account_id, self.config.namespace)  # noqa: E731
        left = self.ledger.cleanup(delete, workers=self.concurrency, listed=listed)
        self.left_kinds = kinds(self.ledger.why_left) + unnamed_kind(self.unnamed)
        return left

    # -- operations the target lacks ----------------------------------------------------

    def settle_unsent(self) -> None:
        """Rules the suite never sends requests for: no source says what the real API answers."""
        for rule in self.spec.rules:
            if not rule.sent:
                self.results.set(rule.id, "unsent", unsent_message(rule))

    def probe_operations(self) -> None:
        """An operation a target does not implement makes its rules unsupported, not failed. On a live target
        it asks with what the plan registered already (the first registration, the first prepared user), and
        leaves alone an operation the plan gives nothing to ask with. A target that answers every operation as no
        QuickSight endpoint answers (not_quicksight) is none: targets.NotQuickSight, raised before anything is
        judged."""
        foreign: dict[str, str] = {}  # operation -> how it answered, where no QuickSight endpoint answers so
        for op in self.spec.operations.values():
            setup = op.setup
            name = f"{self.config.prefix}probe"
            if self.budgeted:
                planned = self.plan.prepared[:1] if setup else self.plan.registrations[:1]
                if not planned:
                    continue
                name = planned[0] if setup else name
            elif setup:
                body = dict(setup.body, **{setup.member: name})
                req = Request(operation=setup.operation, path_params=self._labels(self.spec[setup.operation]),
                              body=body, expected=Expected("success"))
                self.send(req)
            if self.budgeted and not setup:
                req = self.plan.registrations[0]
            else:
                req = next((r for r in strategies.boundary_examples(op.name, self.strategy_config, spec=self.spec)
                            if r.expected.is_success), None)
            if req is None:
                continue
            if setup:
                req = replace(req, path_params={**req.path_params, setup.member: name})
            if not (self.budgeted and not setup):  # a planned registration's answer is there already
                try:
                    self.preparation.prepare(req)
                except NotPrepared:
                    pass  # the user to update could not be registered: what the update answers all the same says more
            try:
                response = self.send(req)
            except NotPrepared:  # its answer lost every time: taken as offered, its rules judge it
                continue
            foreign_answer = not_quicksight(response)
            if foreign_answer:
                foreign[op.name] = foreign_answer
            why = unsupported_reason(response)
            if why:
                self.unsupported[op.name] = why
                for rule in op.rules:
                    self.results.set(rule.id, "unsupported", why)
        if foreign and len(foreign) == len(self.unsupported) == len(self.spec.operations):
            from qsconform.conformance.targets import NotQuickSight, describe

            first, how = next(iter(foreign.items()))
            raise NotQuickSight(f"{describe(self.target.name, self.target.endpoint)}: not a QuickSight REST endpoint? "
                                f"{first} answered {how}")


class _OwnUsers:
    """A Run whose strategies name users under another prefix (Run.lifecycle_driver); the rest is the Run's."""

    def __init__(self, run: Run, strategy_config):
        self._run, self.strategy_config = run, strategy_config

    def __getattr__(self, name: str):
        return getattr(self._run, name)


def rule_examples(spec: Spec, config: strategies.StrategyConfig, plan: budget.Plan | None, rule: Rule) -> list[Request]:
    """Boundary cases that bear on a rule, run before the random draws. A response rule about refusals sees every
    invalid one: their answers are cached from the input rules that sent them. With a live target's `plan`, the
    creating operation's valid examples are the plan's registrations: its boundary examples packed into a few
    users (conformance/budget.py)."""
    out = []
    planned = plan is not None and rule.operation == spec.setup_operation
    for req in strategies.boundary_examples(rule.operation, config, spec=spec):
        if rule.kind == "response":
            if rule.judges(valid=req.expected.is_success) and not (planned and req.expected.is_success):
                out.append(req)
        elif req.expected.rule_id == rule.id:
            out.append(req)
    if planned and rule.kind == "response" and rule.judges(valid=True):
        out += plan.registrations
    return out


def unsent_message(rule: Rule) -> str:
    """Why the suite sends nothing for a rule (its message as an unsent rule)."""
    return f"not sent: {rule.why}" if rule.why else "not sent"


def only_deviations(exc: BaseException) -> bool:
    """Whether an exception is a RuleFailure, or a group of nothing else (Hypothesis's report of several bugs)."""
    if isinstance(exc, RuleFailure):
        return True
    inner = getattr(exc, "exceptions", None)
    return isinstance(inner, (list, tuple)) and bool(inner) and all(only_deviations(e) for e in inner)


def not_quicksight(response) -> str | None:
    """How an answer shows it comes from no QuickSight endpoint (a static file server, another service): 404, 405 or
    501 without an AWS error type, or an HTML page; None for an answer a QuickSight endpoint may give."""
    from http import HTTPStatus

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
