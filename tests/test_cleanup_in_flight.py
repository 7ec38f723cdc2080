"""A user whose creating request was cut off before its answer was tracked is still cleaned up."""
from dataclasses import replace

import pytest

from qsconform.conformance.engine.rule_state import NotJudged
from qsconform.conformance.engine.run import Run
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.judging.checks import user_name_of
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec
from qsconform.strategies import boundary_examples

SPEC = default_spec()


def interrupted_registration(request_of):
    """Register a user on the reference target, interrupted once the target has answered; return
    (the name, what cleanup() left, whether the user still exists afterwards)."""
    with open_target("reference") as target:
        transport = Transport(target, SPEC)
        run = Run(RunConfig(target="reference", profile="quick", seed=1), SPEC, target, transport)
        request = request_of(run)
        name = user_name_of(request)
        send = transport.send

        def send_then_interrupt(req, *args, **kwargs):
            send(req, *args, **kwargs)  # the target has registered the user...
            raise KeyboardInterrupt  # ...and Ctrl-C lands before the run reads the answer

        transport.send = send_then_interrupt
        with pytest.raises(KeyboardInterrupt):
            run.exchanger.send_uncached(request)
        transport.send = send
        assert run.ledger.created == []  # the run never saw the answer
        left = run.cleanup()
        described = transport.call("DescribeUser", {"AwsAccountId": target.account_id, "Namespace": "default",
                                                    "UserName": name})
    return name, left, run.ledger.maybe_created, described.status == 200


def a_quicksight_user(run):
    return next(r for r in boundary_examples("RegisterUser", run.strategy_config, spec=SPEC)
                if r.expected.is_success and r.body.get("IdentityType") == "QUICKSIGHT")


def test_a_user_in_flight_under_the_run_prefix_is_deleted():
    name, left, maybe, exists = interrupted_registration(a_quicksight_user)
    assert name.startswith("qsc-")
    assert left == [] and maybe == [] and not exists


def test_a_user_in_flight_outside_the_run_prefix_is_reported_not_deleted():
    # e.g. an --iam-arn identity on a live account: it may have existed before the run.
    def someone_elses(run):
        request = a_quicksight_user(run)
        return replace(request, body={**request.body, "UserName": "alice"})

    name, left, maybe, exists = interrupted_registration(someone_elses)
    assert name == "alice"
    assert left == [] and maybe == ["alice"] and exists


def test_a_swallowed_interrupt_stops_the_run_at_its_next_request():
    # A signal landing in a finalizer raises a KeyboardInterrupt that Python swallows; the next
    # request the run would send raises it again instead of the run carrying on to the end.
    import signal

    from qsconform.conformance.engine import interrupt

    with open_target("reference") as target:
        transport = Transport(target, SPEC)
        run = Run(RunConfig(target="reference", profile="quick", seed=1), SPEC, target, transport)
        sent = []
        transport.observers.append(sent.append)
        try:
            with pytest.raises(KeyboardInterrupt):
                interrupt.handle_signal(signal.SIGINT, None)  # what "Exception ignored in ..." swallows
            with pytest.raises(KeyboardInterrupt):
                run.exchanger.send_uncached(a_quicksight_user(run))
        finally:
            interrupt.reset()
        assert sent == []
        run.exchanger.send_uncached(a_quicksight_user(run))  # reset: requests go out again
        assert len(sent) == 1
        run.cleanup()


def test_a_throttled_registration_created_nobody():
    from qsconform.conformance.wire.protocol import Answer
    from qsconform.conformance.wire.transport import Throttled

    with open_target("reference") as target:
        transport = Transport(target, SPEC)
        run = Run(RunConfig(target="reference", profile="quick", seed=1), SPEC, target, transport)
        request = a_quicksight_user(run)
        request = replace(request, body={**request.body, "UserName": "alice"})

        def throttled(req, *args, **kwargs):
            raise Throttled(Answer(429, {"X-Amzn-ErrorType": "ThrottlingException"}, b"{}", 0.0,
                                   protocol=SPEC.protocol), attempts=3)

        transport.send = throttled
        with pytest.raises(NotJudged, match="still throttled") as raised:
            run.exchanger.send_uncached(request)
        assert raised.value.status == "inconclusive"
        assert run.cleanup() == [] and run.ledger.maybe_created == []


def test_a_rule_whose_answers_are_all_lost_is_inconclusive_never_failed():
    """Every registration takes effect and loses its answer: what each did is read back and the request replayed;
    when no answer ever comes, its examples are set aside and the rule is inconclusive, saying why."""
    from qsconform.conformance.wire.transport import AnswerLost

    with open_target("reference") as target:
        transport = Transport(target, SPEC)
        run = Run(RunConfig(target="reference", profile="quick", seed=1, max_examples=0), SPEC, target, transport)
        send = transport.send
        lost = []

        def lose_registrations(req, *args, **kwargs):
            answer = send(req, *args, **kwargs)  # the target has done it...
            if req.operation == "RegisterUser":
                lost.append(req)
                raise AnswerLost("RegisterUser", "connection reset")  # ...and the answer never arrives
            return answer

        transport.send = lose_registrations
        rule = SPEC.rule("RegisterUser.response.success-status")
        run.check_rule(rule)
        result = run.results.rules[rule.id]
        assert lost and result.status == "inconclusive", (result.status, result.message)
        assert "was lost" in result.message and "set aside" in result.message
        assert run.answers_lost()["RegisterUser"] == len(lost)
        transport.send = send
        assert run.cleanup() == []
        left = transport.call("ListUsers", {"AwsAccountId": target.account_id, "Namespace": "default"})
        assert left.json_body["UserList"] == []
