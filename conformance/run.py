"""One conformance run: the target, what the run created there, and how a rule is exercised.

The pytest suite (conformance/suite) asks a `Run` for a rule's strategy and
hands every drawn request to `Run.exercise`, which sends it, evaluates the
rule's check, records the verdict and raises `RuleFailure` so that
Hypothesis shrinks the request to a minimal one.

Do no harm: users are created only under the run's prefix (the strategies
name them), a user is updated or deleted only if this run created it, live
targets stop creating after `max_users`, and `cleanup()` deletes what the
run created, on success, failure and interruption alike.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

import strategies
from conformance import interrupt
from conformance.checks import Exchange, applies, expected_user_name, run_check, user_name_of
from conformance.results import Evidence, Results
from conformance.spec import OperationSpec, Rule, Spec
from strategies.request import Expected, Request

PROFILES = {
    # max_examples: random examples per rule (a rule is one pytest test), after its boundary examples.
    # stateful_examples, stateful_steps: programs run by the lifecycle machine, and their length.
    # shrink_seconds: how long a failed rule's request is shrunk before the smallest found so far is
    # reported (None: until Hypothesis is done). Shrinking sends every candidate, so against a target
    # that fails many rules it is most of a run.
    # Measured against the reference target (README, "Speed"): quick about 12 s, default about 45 s.
    "quick": {"max_examples": 3, "stateful_examples": 8, "stateful_steps": 8, "shrink_seconds": 1.0},
    "default": {"max_examples": 30, "stateful_examples": 30, "stateful_steps": 15, "shrink_seconds": 10.0},
    "thorough": {"max_examples": 200, "stateful_examples": 200, "stateful_steps": 30, "shrink_seconds": None},
}


class RuleFailure(AssertionError):
    """A rule broken by a target; Hypothesis shrinks the request that broke it."""

    def __init__(self, rule_id: str, message: str, evidence: Evidence):
        response = evidence.response
        super().__init__(
            f"{rule_id}: {message}\n"
            f"  response: {response.get('status')} {response.get('body', '')[:300]}\n"
            f"  reproduce: {evidence.curl}\n"
            f"  seed: {evidence.seed} (qsconform run --seed {evidence.seed})")
        self.rule_id, self.evidence = rule_id, evidence


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
    max_examples: int | None = None  # overrides the profile's examples per rule
    prefix: str = field(default_factory=lambda: f"qsc-{secrets.token_hex(4)}-")


def _size(request: Request) -> int:
    return len(request.body_bytes()) + sum(len(str(value)) for value in request.path_params.values())


class Run:
    def __init__(self, config: RunConfig, spec: Spec, target, transport):
        self.config, self.spec, self.target, self.transport = config, spec, target, transport
        self.seed = config.seed if config.seed is not None else secrets.randbelow(2**32)
        self.results = Results(spec)
        self.redactor = target.redactor  # knows the credentials in use, refreshed ones included
        self.created: list[str] = []  # user names this run created, in order
        self._present: set[str] = set()
        self._in_flight: set[str] = set()  # names a creating request in progress may have registered
        self.maybe_created: list[str] = []  # names outside the prefix an interrupted request may have registered
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self.unsupported: dict[str, str] = {}  # operation -> why
        self._helpers: dict[str, bool] = {}
        self._rejected: str | None = None  # why the last example was set aside
        self._failed_at: float | None = None  # when the rule under test first failed
        self._shrink_seconds: float | None = None  # the rule under test's shrinking time (None: unbounded)
        self.cassette = None  # set by the plugin under --record
        self.strategy_config = strategies.StrategyConfig(
            account_id=target.account_id, namespace=config.namespace, user_prefix=config.prefix,
            iam_arns=config.iam_arns, synthetic_iam_arns=not target.live, live_safe=target.live,
            custom_permissions_name=config.custom_permissions_name,
        )

    # -- hypothesis -----------------------------------------------------------------

    def settings(self, stateful: bool = False) -> settings:
        profile = PROFILES[self.config.profile]
        phases = [Phase.explicit, Phase.generate, Phase.shrink]
        extra = {"stateful_step_count": profile["stateful_steps"]} if stateful else {}
        examples = self.config.max_examples or profile["stateful_examples" if stateful else "max_examples"]
        return settings(max_examples=examples, database=None, deadline=None, phases=phases,
                        print_blob=True, report_multiple_bugs=False,
                        suppress_health_check=list(HealthCheck), **extra)

    def strategy_for(self, rule: Rule):
        cfg = self.strategy_config
        if rule.kind in ("member", "cross", "protocol"):
            return strategies.invalid_requests(rule.operation, cfg, rule_id=rule.id)
        scope = rule.data.get("applies_to", "any")
        valid = strategies.valid_requests(rule.operation, cfg)
        if scope in ("valid", "success"):
            return valid
        invalid = strategies.invalid_requests(rule.operation, cfg)
        return invalid if scope == "error" else st.one_of(valid, invalid)

    def examples_for(self, rule: Rule) -> list[Request]:
        """Boundary cases that bear on the rule, run before the random draws."""
        scope = rule.data.get("applies_to") if rule.kind == "response" else None
        out = []
        for req in strategies.boundary_examples(rule.operation, self.strategy_config):
            if rule.kind == "response":
                if scope in ("valid", "success", "any") and req.expected.is_success:
                    out.append(req)
            elif req.expected.rule_id == rule.id:
                out.append(req)
        return out

    def hypothesis_test(self, rule: Rule):
        """The property test of one rule, ready to call."""
        def body(request: Request) -> None:
            self.exercise(rule, request)

        test = given(self.strategy_for(rule))(body)
        # Smallest first, so that a rule every example breaks is reported with the smallest one
        # (explicit examples are not shrunk; Hypothesis runs the last one applied first).
        for req in sorted(self.examples_for(rule), key=_size, reverse=True):
            test = example(req)(test)
        return seed(self.seed)(self.settings()(test))

    def check_rule(self, rule: Rule) -> None:
        """Run the rule's property test; the verdict lands in self.results and in pytest's outcome."""
        if rule.operation in self.unsupported:
            pytest.skip(f"unsupported: {self.unsupported[rule.operation]}")
        if rule.kind == "lifecycle":
            from conformance.lifecycle import lifecycle_test

            if self.setup_operation_name in self.unsupported:
                pytest.skip(f"unsupported: {self.unsupported[self.setup_operation_name]}")
            # A lifecycle program must replay step for step while it is shrunk (a step passed over
            # would change what the machine draws next), so no shrinking time applies; its programs
            # are short (the profile's stateful_steps).
            self.run_property([rule], lifecycle_test(self, rule), bounded_shrinking=False)
            return
        self.run_property([rule], self.hypothesis_test(rule))

    def run_property(self, rules: list[Rule], test, bounded_shrinking: bool = True) -> None:
        """Call a Hypothesis test that judges `rules`; settle verdicts no example gave."""
        from hypothesis.errors import Unsatisfiable

        started = time.perf_counter()
        self._failed_at = None
        self._shrink_seconds = PROFILES[self.config.profile]["shrink_seconds"] if bounded_shrinking else None
        tried_before = {rule.id: self.results.rules[rule.id].tried for rule in rules}
        try:
            test()
        except Unsatisfiable:
            why = self._rejected or "needs configuration this run lacks (e.g. --iam-arn on a live target)"
            for rule in rules:
                self.results.set(rule.id, "skipped", why)
            pytest.skip(why)
        except pytest.skip.Exception as exc:
            status = "inconclusive" if str(exc.msg).startswith("inconclusive") else "skipped"
            for rule in rules:
                self.results.set(rule.id, status, str(exc.msg))
            raise
        finally:
            for rule in rules:
                self.results.add_time(rule.id, (time.perf_counter() - started) / len(rules))
        unjudged = [rule.id for rule in rules if self.results.rules[rule.id].tried == tried_before[rule.id]]
        if unjudged:
            why = "inconclusive: no example reached the rule (every answer was outside its scope)"
            for rule_id in unjudged:
                self.results.set(rule_id, "inconclusive", why)
            pytest.skip(why)

    # -- exercising -----------------------------------------------------------------

    def _shrink_time_up(self) -> bool:
        """Whether the rule under test failed and its shrinking time (if bounded) has run out."""
        budget = self._shrink_seconds
        return self._failed_at is not None and budget is not None and time.perf_counter() - self._failed_at >= budget

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
        if self.shrink_spent():
            return
        op = self.spec[rule.operation]
        response = self.cached(request)
        if response is None:  # else the answer was given with the target prepared for this very request
            self._prepare(op, request)
            response = self.send(request)
        exchange = Exchange(op=op, request=request, response=response, region=self.target.region)
        if rule.kind == "response" and not applies(rule, exchange):
            return
        self.judge(rule.id, request, response, run_check(rule, exchange))

    def judge(self, rule_id: str, request: Request, response, message: str | None, stop: bool = True) -> None:
        """Record one example of a rule; when it broke the rule and `stop`, raise RuleFailure for Hypothesis to shrink.

        A rule met in passing (`stop` false: the lifecycle machine meets every lifecycle rule) is recorded
        only until the judged rule fails: which steps the shrinker then tries, within the profile's
        shrinking time, is no verdict, and recording them would make verdicts depend on timing.
        """
        if not stop and self._failed_at is not None:
            return
        if message is None:
            self.results.tried(rule_id)
            return
        evidence = self.evidence(request, response, message)
        self.results.tried(rule_id, evidence)
        if stop:
            if self._failed_at is None:
                self._failed_at = time.perf_counter()
            raise RuleFailure(rule_id, message, evidence)

    def evidence(self, request: Request, response, message: str) -> Evidence:
        minimal = self._final_replay()
        cut_short = minimal and self._shrink_time_up()
        redact = self.redactor.redact
        return Evidence(
            request=redact(request.describe()),
            response=redact({"status": response.status, "headers": dict(response.headers),
                             "body": response.body.decode("utf-8", "replace")[:4000]}),
            curl=redact(self.transport.curl(request)), seed=self.seed, message=redact(message), minimal=minimal,
            shrink_cut_short=cut_short)

    def send_uncached(self, request: Request):
        """Send for real (the lifecycle depends on the target's state at this moment)."""
        from conformance.transport import Throttled

        interrupt.check()
        self._guard_creation(request)
        # Until its answer is read and tracked, a request may have created a user the run does not
        # know of: an interrupt (Ctrl-C) or a lost connection can come in between. cleanup() also
        # deletes the names still in flight.
        name = user_name_of(request) if self._creates(request) else None
        in_flight = isinstance(name, str)
        if in_flight:
            with self._lock:
                self._in_flight.add(name)
        try:
            response = self.transport.send(request)
        except Throttled as exc:
            with self._lock:  # refused, so nothing was created
                self._in_flight.discard(name)
            pytest.skip(f"inconclusive: still throttled after retries ({exc})")
        self._track(request, response)
        if in_flight:
            with self._lock:
                self._in_flight.discard(name)
        return response

    def helper_supported(self, operation: str) -> bool:
        """Whether the target offers a helper operation (DescribeUser, DeleteUser); asked once."""
        if operation not in self._helpers:
            labels = self._labels(self.spec[self.setup_operation_name], UserName=f"{self.config.prefix}absent")
            self._helpers[operation] = unsupported_reason(self.transport.call(operation, labels)) is None
        return self._helpers[operation]

    @staticmethod
    def _cache_key(request: Request) -> tuple:
        return request.operation, tuple(sorted(request.path_params.items())), request.body_bytes()

    def cached(self, request: Request):
        """The answer this request was given earlier in the run, or None."""
        key = self._cache_key(request)
        with self._lock:
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
        key = self._cache_key(request)
        response = self.send_uncached(request)
        with self._lock:
            self._cache[key] = response
            if len(self._cache) > 2048:
                self._cache.popitem(last=False)
        return response

    # -- users this run owns ----------------------------------------------------------

    def _creates(self, request: Request) -> bool:
        return request.operation == self.setup_operation_name

    @property
    def setup_operation_name(self) -> str:
        """The operation that creates users: the one other operations name as their setup."""
        names = {op.raw["target"]["setup_operation"] for op in self.spec.operations.values() if op.raw.get("target")}
        return names.pop() if names else ""

    def _guard_creation(self, request: Request) -> None:
        if self.target.live and self._creates(request) and len(self.created) >= self.config.max_users:
            pytest.skip(f"skipped: --max-users {self.config.max_users} reached on a live target")

    def _track(self, request: Request, response) -> None:
        """Remember a user the target says it created: named in the answer, else as the request names it."""
        if not self._creates(request) or not 200 <= response.status < 300:
            return
        name = None
        if response.is_json and isinstance(response.json_body, dict):
            name = (response.json_body.get("User") or {}).get("UserName")
        if not isinstance(name, str):
            name = expected_user_name(Exchange(self.spec[request.operation], request, response, self.target.region))
        if isinstance(name, str):
            with self._lock:
                if name not in self._present:
                    self.created.append(name)
                self._present.add(name)

    def _prepare(self, op: OperationSpec, request: Request) -> None:
        """Make the target's state what the request assumes: a user to update exists, a user to register does not."""
        name = request.path_params.get("UserName") if request.operation != self.setup_operation_name \
            else user_name_of(request)
        if not isinstance(name, str):
            return
        setup = op.raw.get("target")
        label_broken = (request.expected.rule_id or "").startswith(f"{op.name}.UserName.")
        if setup and not label_broken:
            self.ensure_present(name, setup)
        elif request.operation == self.setup_operation_name and request.expected.is_success:
            self.ensure_absent(name)

    def ensure_present(self, name: str, setup: dict) -> None:
        with self._lock:
            if name in self._present:
                return
        body = dict(setup["setup_body"], **{setup["existing_user_member"]: name})
        op = self.spec[setup["setup_operation"]]
        req = Request(operation=op.name, path_params=self._labels(op), body=body, expected=Expected("success"))
        response = self.send_uncached(req)
        if not 200 <= response.status < 300:
            self._set_aside(f"inconclusive: could not register {name!r} to update it ({response.status} {response.error_type})")

    def ensure_absent(self, name: str) -> None:
        with self._lock:
            if name not in self._present:
                return
        response = self.transport.call("DeleteUser", self._labels(self.spec[self.setup_operation_name], UserName=name))
        if not deleted(response):
            self._set_aside(f"inconclusive: could not delete {name!r} to register it again ({response.status})")
        with self._lock:
            self._present.discard(name)

    def _set_aside(self, why: str) -> None:
        """This example cannot be judged (the target's state could not be prepared): draw another.
        The other rules see the refusal itself (a valid registration refused fails success-status)."""
        from hypothesis import reject

        self._rejected = why
        reject()

    def _labels(self, op: OperationSpec, **extra) -> dict:
        labels = {"AwsAccountId": self.target.account_id, "Namespace": self.config.namespace}
        return {m.name: labels[m.name] for m in op.uri_members if m.name in labels} | extra

    def cleanup(self) -> list[str]:
        """Delete every user this run created and still holds; returns the names left behind.

        A name whose creating request was cut off (in flight) is deleted too when it is under the
        run's prefix, so that only this run can have made it; any other (an --iam-arn identity on
        a live account, which may have existed before) is not touched but kept in `maybe_created`.
        """
        left = []
        with self._lock:
            for name in sorted(self._in_flight - self._present):
                if name.startswith(self.config.prefix):
                    self.created.append(name)
                    self._present.add(name)
                elif name not in self.maybe_created:
                    self.maybe_created.append(name)
            self._in_flight.clear()
        for name in list(reversed(self.created)):
            if name not in self._present:
                continue
            try:
                response = self.transport.call("DeleteUser", self._labels(self.spec[self.setup_operation_name], UserName=name))
                ok = deleted(response)
            except Exception:
                ok = False
            if ok:
                self._present.discard(name)
            else:
                left.append(name)
        return left

    # -- operations the target lacks ----------------------------------------------------

    def probe_operations(self) -> None:
        """An operation a target does not implement makes its rules unsupported, not failed."""
        for op in self.spec.operations.values():
            setup = op.raw.get("target")
            name = f"{self.config.prefix}probe"
            if setup:
                body = dict(setup["setup_body"], **{setup["existing_user_member"]: name})
                req = Request(operation=setup["setup_operation"], path_params=self._labels(self.spec[setup["setup_operation"]]),
                              body=body, expected=Expected("success"))
                self.send(req)
            req = next((r for r in strategies.boundary_examples(op.name, self.strategy_config) if r.expected.is_success), None)
            if req is None:
                continue
            if setup:
                req = replace(req, path_params={**req.path_params, setup["existing_user_member"]: name})
            self._prepare(op, req)
            response = self.send(req)
            why = unsupported_reason(response)
            if why:
                self.unsupported[op.name] = why


def deleted(response) -> bool:
    """A DeleteUser answer that leaves no user behind: success, or the AWS not-found error (a bare
    404 page is not one: moto answers it for a name its router cannot read, and the user stays)."""
    return 200 <= response.status < 300 or response.error_type == "ResourceNotFoundException"


def unsupported_reason(response) -> str | None:
    """Why an answer means "this operation is not implemented here", or None."""
    if response.status == 501:
        return "the target answered 501 Not Implemented"
    if response.error_type in ("UnknownOperationException", "UnknownOperation", "NotImplemented"):
        return f"the target answered {response.error_type}"
    if response.status in (404, 405) and not response.error_type:
        return f"the target answered {response.status} without an AWS error"
    return None
