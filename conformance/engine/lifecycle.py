"""The lifecycle rules, as a Hypothesis state machine with a model of which users exist.

register -> register again (409), update (200, persisted per DescribeUser, read again a
bounded number of times: an update may take a moment to show everywhere), update a name never
registered (404), delete -> update (404). User names
come from the strategies, under the run's prefix; every request is really sent
(no cache), and what the run creates is deleted at the end.

The machine runs once per lifecycle rule: every rule it meets is recorded, but
only the judged one stops the machine, so one broken rule does not hide another
and Hypothesis shrinks the steps that break the judged rule. Before it, the
canonical program (register, register again, update, update a missing user,
delete then update, each with the simplest valid request) runs its steps in
that order, so that every lifecycle rule is judged whatever the seed: a few
random programs may never reach a step.

On a live target every registration is a user somebody may pay for: a rule's programs register within the
quota its plan gives it (Driver.may_register; a register step beyond it is passed over, as a refused one
is), and a failure is recorded, not shrunk (each replay would register again). The canonical program of
update-persists changes the user's role there (Driver.role_changed), the one update of a run that does.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from hypothesis import seed
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, get_state_machine_test, rule

from qsconform import strategies
from qsconform.conformance.judging.checks import NOT_APPLICABLE, Exchange, echo, error_answer, user_name_of
from qsconform.spec.model import LifecycleRule, OperationSpec, Spec
from qsconform.spec.request import Expected, Request
from qsconform.strategies.config import StrategyConfig
from qsconform.strategies.context import context_for


class Driver(Protocol):
    """What the machine needs of a run, and nothing more (conformance/engine/rule_runner.py: LifecycleDriver)."""

    spec: Spec
    strategy_config: StrategyConfig
    region: str
    seed: int

    def settings(self, stateful: bool = False): ...
    def send_fresh(self, request: Request): ...  # really sent (no cache), the users it creates tracked; None: not sent
    def may_register(self) -> bool: ...  # whether a register step may register one more user (counted)
    def role_changed(self, request: Request) -> Request: ...  # the update that changes the role, where it must
    def ensure_absent(self, name: str) -> None: ...  # a user of the run deleted, or the example set aside
    def describe(self, labels, again: int = 0) -> object | None: ...  # DescribeUser's answer (`again`: which
    #                                                                 re-read, 0 the first read); None: no DescribeUser
    def can_delete(self) -> bool: ...
    def has_rule(self, rule_id: str) -> bool: ...
    def judge(self, rule_id: str, request, response, deviation, stop: bool = True, trail: bool = False) -> None: ...
    def begin_trail(self) -> None: ...  # from here on, remember what this thread sends (the evidence's steps)


def _machine(driver: Driver, judged_rule: str):
    spec, cfg = driver.spec, driver.strategy_config
    create = driver.spec.setup_operation
    update, setup = next((op, op.setup) for op in spec.operations.values() if op.setup is not None)
    member = setup.member

    def valid(op_name):
        # The lifecycle is about state, not data: the deterministic valid boundary examples
        # (names with '/', spaces, Latin-1...) keep each step cheap to shrink.
        examples = valid_examples(driver, op_name)
        return st.sampled_from(examples) if examples else strategies.valid_requests(op_name, cfg, spec=driver.spec)

    def rule_id(op_name, suffix):
        rid = f"{op_name}.lifecycle.{suffix}"
        return rid if driver.has_rule(rid) else None

    def read_back_of(op_name):
        """(the rule's id, how many reads) of the rule that reads an update back; None when it is not judged."""
        rid = rule_id(op_name, "update-persists")
        if rid is None:
            return None
        back = lifecycle_rule(spec[op_name], rid).read_back
        return rid, (back[1] if back else 1)

    def expect(op_name, suffix, request, response):
        """Judge one lifecycle rule on one exchange (for update-persists: DescribeUser's answer after the update)."""
        rid = rule_id(op_name, suffix)
        if rid is None:
            return
        judged, message = verdict(spec, rid, request, response, driver.region)
        driver.judge(rid, judged, response, message, stop=rid == judged_rule, trail=True)

    class Lifecycle(RuleBasedStateMachine):
        users = Bundle("users")

        def __init__(self):
            super().__init__()
            driver.begin_trail()  # each program's requests, from its first: a failure's stand-alone reproduction
            self.count = 0
            self.registered = {}  # handle -> (user name, the request that registered it)

        @rule(target=users, request=valid(create))
        def register(self, request):
            # The bundle gets a handle whatever the target answers: what Hypothesis draws next must
            # not depend on the target, or its replays of a failing program may diverge.
            handle = f"user-{self.count}"
            self.count += 1
            if not driver.may_register():
                return handle  # held back: the rule's registrations are spent (a live target)
            name = user_name_of(request)
            if isinstance(name, str):
                self.forget(name)
                driver.ensure_absent(name)
            response = driver.send_fresh(request)
            if response is None or not 200 <= response.status < 300:
                return handle  # a valid request refused: the response rules report it
            body = response.json_body if response.is_json and isinstance(response.json_body, dict) else {}
            name = (body.get("User") or {}).get(member) or name
            if isinstance(name, str):
                self.forget(name)
                self.registered[handle] = (name, request)
            return handle

        def forget(self, name):
            """The user `name` is gone (or about to be replaced): no handle stands for it any more."""
            for handle in [h for h, (registered, _) in self.registered.items() if registered == name]:
                del self.registered[handle]

        @rule(handle=users)
        def register_again(self, handle):
            if handle not in self.registered:
                return
            _, request = self.registered[handle]
            response = driver.send_fresh(request)
            if response is not None:
                expect(create, "duplicate-refused", request, response)

        @rule(handle=users, request=valid(update.name))
        def update_registered(self, handle, request):
            if handle not in self.registered:
                return
            name, _ = self.registered[handle]
            request = replace(request, path_params={**request.path_params, member: name})
            response = driver.send_fresh(request)
            if response is None or not 200 <= response.status < 300:
                return  # not sent (the plan's quota), or refused: the response rules report it
            read_back = read_back_of(update.name)
            if read_back is None:
                return
            persists_id, reads = read_back
            for again in range(reads):
                # Read back until the update shows, a fixed number of times at most (as SDK waiters poll): a
                # count, not a time, so a loaded machine cannot change the verdict.
                described = driver.describe(request.path_params, again)
                if described is None:  # the target cannot describe: the rule stays inconclusive
                    return
                if verdict(spec, persists_id, request, described, driver.region)[1] is None:
                    break
            expect(update.name, "update-persists", request, described)

        @rule(request=valid(update.name), tag=st.integers(0, 10**6))
        def update_missing(self, request, tag):
            name = f"{cfg.user_prefix}missing-{tag}"
            if name in {registered for registered, _ in self.registered.values()}:
                return
            driver.ensure_absent(name)
            request = replace(request, path_params={**request.path_params, member: name})
            response = driver.send_fresh(request)
            if response is not None:
                expect(update.name, "missing-user-not-found", request, response)

        @rule(handle=consumes(users), request=valid(update.name))
        def delete_then_update(self, handle, request):
            if handle not in self.registered or not driver.can_delete():
                return
            name, _ = self.registered[handle]
            self.forget(name)
            driver.ensure_absent(name)
            request = replace(request, path_params={**request.path_params, member: name})
            response = driver.send_fresh(request)
            if response is not None:
                expect(update.name, "deleted-user-not-found", request, response)

    return Lifecycle


def lifecycle_rule(op: OperationSpec, rule_id: str) -> LifecycleRule:
    rule = op.rule(rule_id)
    assert isinstance(rule, LifecycleRule), f"the machine judges lifecycle rules only, not {rule_id}"
    return rule


def verdict(spec: Spec, rule_id: str, request: Request, response, region: str):
    """(the request as judged, the deviation or None) of a lifecycle rule on one exchange. A rule with an outcome
    (a duplicate refused, a missing user not found) judges the request's answer against the answers its outcome
    allows; update-persists judges DescribeUser's answer after the update (`response`) against what was sent."""
    op = spec[rule_id.split(".", 1)[0]]
    outcome = lifecycle_rule(op, rule_id).outcome
    if outcome:
        labelled = replace(request, expected=Expected("error", rule_id, answers=tuple(op.answers(outcome)),
                                                      level=request.expected.level))
        return labelled, error_answer(Exchange(op, labelled, response, region), {})
    if not 200 <= response.status < 300:
        return request, f"DescribeUser after the update answered {response.status} {response.error_type}"
    # The members the rule names (Email, Role) at its own level; the others sent at the level of their echo.
    message = echo(Exchange(op, request, response, region), {"at_rule_level": lifecycle_rule(op, rule_id).persists})
    return request, None if message is NOT_APPLICABLE else message


def valid_examples(driver: Driver, op_name):
    """The valid boundary examples of an operation, simplest first; certain ones only (a request valid by
    inference could be refused for a reason that is no lifecycle's)."""
    return [r for r in strategies.boundary_examples(op_name, driver.strategy_config, spec=driver.spec)
            if r.expected.is_success and r.expected.level == "MUST"]


def changing(driver: Driver, registered: Request, updates: list[Request]) -> Request:
    """The first update, with each member the update rule reads back set to a value of the other updates that
    differs from the one registered (an update sending what is stored already shows nothing: a server that keeps
    the old Role would pass it); the first update as it is when no such request is valid."""
    create = driver.spec.setup_operation
    update = next(op for op in driver.spec.operations.values() if op.setup is not None)
    persisting = [r for r in update.rules_of("lifecycle") if r.persists and driver.has_rule(r.id)]
    paths = persisting[0].persists if persisting else ()

    def member(op_name: str, path: str) -> str | None:
        return next((e.request for e in driver.spec[op_name].echoes if e.response == path and not e.absent), None)

    first, sent = updates[0], registered.params()
    body = dict(first.body)
    for path in paths:
        mine, theirs = member(update.name, path), member(create, path)
        if mine is None or theirs is None or mine not in body:
            continue
        body[mine] = next((u.body[mine] for u in updates if isinstance(u.body, dict) and mine in u.body
                           and u.body[mine] != sent.get(theirs)), body[mine])
    changed = replace(first, body=body)
    verdict = context_for(update.name, driver.strategy_config, driver.spec).classify(changed.params())
    return changed if verdict.valid and verdict.level == "MUST" else first


def lifecycle_test(driver: Driver, rule):
    """The state machine test that judges one lifecycle rule, ready to call."""
    test = get_state_machine_test(_machine(driver, rule.id), settings=driver.settings(stateful=True))
    return seed(driver.seed)(test)


def canonical_program(driver: Driver, rule):
    """Every step of the machine once, in order, with the simplest valid requests; raises like a step does
    when the judged rule breaks."""
    machine = _machine(driver, rule.id)()
    create = driver.spec.setup_operation
    update = next(op.name for op in driver.spec.operations.values() if op.setup is not None)
    register, change = valid_examples(driver, create)[:1], valid_examples(driver, update)
    if not register or not change:
        return
    handle = machine.register(register[0])
    machine.register_again(handle)
    # The update of update-persists changes every member it reads back (on a live target, the role to the plan's
    # one role change: the only update of a run that changes one).
    persists = rule.id == f"{update}.lifecycle.update-persists"
    machine.update_registered(handle, driver.role_changed(changing(driver, register[0], change)) if persists else change[0])
    machine.update_missing(change[0], 0)
    machine.delete_then_update(handle, change[0])
