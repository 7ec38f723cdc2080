"""The run's exchanges with its target: answers asked once and kept, the target prepared as each request assumes,
and the users the run made, counted against --max-users and deleted at the end.

Do no harm: users are created only under the run's prefix (the strategies name them), a user is updated or
deleted only if this run created it, live targets register what the run's plan allows (conformance/engine/budget.py),
and `cleanup()` deletes what the run created, on success, failure and interruption alike.
"""
from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict

from qsconform.conformance.engine import budget, interrupt
from qsconform.conformance.engine.ledger import UserLedger
from qsconform.conformance.engine.operations import unsupported_reason
from qsconform.conformance.engine.preparation import NotPrepared, Preparation
from qsconform.conformance.engine.rule_state import CapReached, NotJudged, RuleState, Stopped
from qsconform.conformance.engine.users import delete_user, exists, kinds, listed_names, unnamed_kind
from qsconform.conformance.judging.checks import Exchange, expected_user_name, user_name_of
from qsconform.conformance.judging.results import SHOWN_SERVER_ERRORS
from qsconform.conformance.wire.transport import AnswerLost, Throttled
from qsconform.spec.model import OperationSpec, Spec
from qsconform.spec.request import Request

LOST_REPLAYS = 3  # times a request whose answer was lost is sent again, the target put back as it assumes
# Before each re-read of an update on a live target, this many seconds times the re-read's number (1, 2, 3...):
# a real API may take a moment to show it everywhere. A target the run started itself is read again at once.
LIVE_REREAD_PAUSE = 1.0
CACHE_SIZE = 2048  # answers kept (besides the plan's registrations, never evicted)


class Lost(NotPrepared):
    """The answer to a request that changes the target was lost. What it did was read back (DescribeUser) into the
    ledger; the request is replayed with the target prepared again (send_prepared), or its example set aside:
    never judged by what a retry got."""


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


class _Restoring(threading.local):
    active = False  # the calling thread's preparation is registering a user again


class Exchanger:
    """Sends a run's requests: `answer` (cached, prepared, shared between rules judged side by side),
    `send_replaying` (a lifecycle step: sent now, not cached), and the operations the run relies on beside the
    spec's (DescribeUser, DeleteUser, ListUsers). `plan`: what a live target may register
    (conformance/engine/budget.py)."""

    def __init__(self, spec: Spec, target, transport, *, prefix: str, namespace: str, max_users: int,
                 plan: budget.Plan, state: RuleState):
        self.spec, self.target, self.transport = spec, target, transport
        self.prefix, self.namespace, self.max_users, self.plan = prefix, namespace, max_users, plan
        self.state = state
        self.ledger = UserLedger(prefix)
        self.spending = budget.Spending()
        self.preparation = Preparation(spec, self.ledger, self._send_restoring, transport.call, self.labels_of)
        self.unsupported: dict[str, str] = {}  # operation -> why (the run's find_unsupported)
        self.unnamed = 0  # registrations the target answered with no UserName (moto's IAM identities)
        self.left_behind: list[str] = []  # users cleanup() could not delete
        self.left_kinds: list[dict] = []  # the users left behind, by kind (users.kinds), after cleanup
        self._planned: dict[tuple, object] = {}  # the planned registrations' answers, never evicted
        self._planned_keys = frozenset(self.cache_key(r) for r in plan.registrations) if plan.live else frozenset()
        self._unanswered = 0  # registrations sent whose answer never came: perhaps users, counted as such
        self._unplanned = 0  # users registered outside the plan (or perhaps: no answer came)
        self._reserved_unplanned = 0
        self._reserved = 0
        self._restoring = _Restoring()
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self._server_errors: list[dict] = []  # documented 500/503 answers that passed on retry (or did not)
        self._lost: list[str] = []  # the operations of requests whose answer was lost (read back, replayed)
        self._helpers: dict[str, bool] = {}
        self._names = NameLocks()
        self._creating = threading.Condition()  # guards the counts of registrations made and in flight (--max-users)
        self._stopped = threading.Event()  # set by stop(): no request is sent any more
        self.side_by_side = False  # rules are judged side by side: requests naming one user may share it

    @property
    def budgeted(self) -> bool:
        """Whether registrations are planned and counted per rule (a live target)."""
        return self.plan.live

    def creates(self, request: Request) -> bool:
        return request.operation == self.spec.setup_operation

    def planned(self, request: Request) -> bool:
        """Whether a request is one of the plan's registrations (sent before the rules start)."""
        return self.cache_key(request) in self._planned_keys

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

    # -- answers --------------------------------------------------------------------

    def answer(self, request: Request):
        """The target's answer to a request, sent with the target as the request assumes (its user present or
        absent), or the answer it was given so earlier in the run; raises NotPrepared when the target could
        not be prepared.

        A request expecting a refusal, whose target is prepared already, shares its user's name with the rules
        beside it; its answer is kept if a beside request cannot have caused it (a success, or 400). Anything
        else is sent again with the name alone, prepared just before: the answer a serial run would have had.
        """
        response = self.cached(request)
        if response is not None:
            return response
        name = self.preparation.name_of(request)
        if name is not None and not request.expected.is_success and self.side_by_side:
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
        """The target prepared as the request assumes, then the request sent; when the answer is lost (what it did
        is read back: send_uncached), prepared and sent again, up to LOST_REPLAYS times; then NotPrepared."""
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

    def send(self, request: Request):
        """Sent unprepared, once: the response-rule tests of an operation draw the same requests."""
        response = self.cached(request)
        if response is not None:
            return response
        return self._remember(request, self.send_replaying(request))

    def send_replaying(self, request: Request):
        """send_uncached, not prepared; when the answer is lost, a registration that took effect is deleted again
        (the request assumed its user absent, unless the run held it already) and the request sent again, up to
        LOST_REPLAYS times; then NotPrepared."""
        name = user_name_of(request) if self.creates(request) else None
        held = isinstance(name, str) and self.ledger.holds(name)
        for _ in range(LOST_REPLAYS + 1):
            try:
                return self.send_uncached(request)
            except Lost as exc:
                lost = exc
                if isinstance(name, str) and not held:
                    self.preparation.ensure_absent(name)
        raise NotPrepared(f"{lost} {LOST_REPLAYS + 1} times; set aside")

    def send_uncached(self, request: Request):
        """Send for real (the lifecycle depends on the target's state at this moment)."""
        interrupt.check()
        if self._stopped.is_set():
            raise Stopped("the run is closing")
        # Until its answer is read and tracked, a request may have created a user the run does not know of: an
        # interrupt or a lost connection can come in between. cleanup() also deletes the names still in flight.
        name = user_name_of(request) if self.creates(request) else None
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
        that happened is held, one that did not is forgotten, and one nobody can tell stays of unknown fate until
        cleanup reads it. An update's user is made again before it is relied on. Whether the request may be sent
        again: not a registration of a name outside the run's prefix that exists now (it may predate the run)."""
        name = user_name_of(request) if self.creates(request) else self.preparation.name_of(request)
        with self._lock:
            self._lost.append(request.operation)
        if not isinstance(name, str):
            return True
        held = self.ledger.holds(name)
        there = exists(self.transport.call, self.labels_of(self.spec.setup_operation, UserName=name))
        if self.creates(request):
            self.ledger.settle(name, there, sound=request.expected.kind == "success")
            return held or there is not True or name.startswith(self.prefix)
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

    def _remember(self, request: Request, response):
        with self._lock:
            self._cache[self.cache_key(request)] = response
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return response

    # -- the operations the run relies on beside the spec's ---------------------------

    def helper_supported(self, operation: str) -> bool:
        """Whether the target offers a helper operation (DescribeUser, DeleteUser); asked once."""
        if operation not in self._helpers:
            labels = self.labels_of(self.spec.setup_operation, UserName=f"{self.prefix}absent")
            trail, self.state.trail = self.state.trail, None  # a question about the target, no step of a program
            try:
                for _ in range(LOST_REPLAYS + 1):  # a user nobody registered: its delete may be sent again
                    try:
                        answer = self.transport.call(operation, labels)
                        break
                    except AnswerLost:
                        answer = None
            finally:
                self.state.trail = trail
            self._helpers[operation] = answer is not None and unsupported_reason(answer) is None
        return self._helpers[operation]

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

    def labels(self, op: OperationSpec, **extra) -> dict:
        labels = {"AwsAccountId": self.target.account_id, "Namespace": self.namespace}
        return {m.name: labels[m.name] for m in op.uri_members if m.name in labels} | extra

    def labels_of(self, operation: str, **extra) -> dict:
        return self.labels(self.spec[operation], **extra)

    # -- users this run owns ----------------------------------------------------------

    def _creation(self, request: Request):
        """On a live target, a registration is sent only while --max-users is not reached, the registrations
        in flight counted, so that rules judged side by side cannot go past the cap together. Yields a list
        the caller appends whether the target created a user to."""
        if not (self.target.live and self.creates(request)):
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
        spare = self.plan.spare if self.plan.live else self.max_users
        cap = self.max_users
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
        if not self.creates(request) or not 200 <= response.status < 300:
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

    def cleanup(self, workers: int = 1) -> list[str]:
        """Delete every user this run created and still holds, and every name of unknown fate under its prefix, each
        delete whose answer was lost settled by reading; then read what is still listed (ListUsers), delete that
        again and read again (conformance/engine/ledger.py). The names left behind; `left_kinds` groups them by why."""
        delete = lambda name: delete_user(self.transport.call,  # noqa: E731
                                          self.labels_of(self.spec.setup_operation, UserName=name))
        listed = lambda names: listed_names(self.transport, self.target.account_id, self.namespace)  # noqa: E731
        self.left_behind = self.ledger.cleanup(delete, workers=workers, listed=listed)
        self.left_kinds = kinds(self.ledger.why_left) + unnamed_kind(self.unnamed)
        return self.left_behind
