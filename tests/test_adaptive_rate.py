"""The send rate adapts to a target that throttles (conformance/wire/transport.py AdaptiveRate, botocore's client-side
rate limiter), and the reference server's pacing options that let us try it: throttle_rate and latency_ms.

The throttling runs are against a reference server on loopback answering 429 ThrottlingException above
`throttle_rate` requests a second; a loopback target needs `adaptive=True` (live targets have it by default).
"""
import json
import statistics
import threading
import time

import pytest

from qsconform.conformance.engine.run import Run
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.reference import Pacing, start_reference
from qsconform.conformance.reference.client import Client, quicksight_user
from qsconform.conformance.reporting.console import summary_lines
from qsconform.conformance.reporting.report import compliance_document
from qsconform.conformance.wire.protocol import parse_error_type
from qsconform.conformance.wire.targets import Target, open_target
from qsconform.conformance.wire.transport import AdaptiveRate, Throttled, Transport
from qsconform.spec.loader import default_spec

SPEC = default_spec()
PROTOCOL = SPEC.protocol
LIMIT = 40  # requests a second the throttling server takes; a loopback client sends several times as many


@pytest.fixture
def throttling(no_aws_credentials):
    """A reference server throttling above LIMIT requests a second, and a (loopback URL) target on it."""
    with start_reference(throttle_rate=LIMIT) as server, open_target(server.url) as target:
        yield server, target


def list_users(transport, target):
    return transport.call("ListUsers", {"AwsAccountId": target.account_id, "Namespace": "default"})


# -- the reference server's pacing options -------------------------------------------------------------------

def test_pacing_options_are_numbers():
    assert Pacing(throttle_rate="50", latency_ms=2) == Pacing(throttle_rate=50.0, latency_ms=2.0)  # as the CLI passes
    assert not Pacing() and Pacing(latency_ms=1)
    for bad in (-1, "fast", True, float("inf"), float("nan"), None):
        with pytest.raises(ValueError, match="must be a number"):
            Pacing(throttle_rate=bad)
    with pytest.raises(ValueError, match="latency_ms must be a number"):
        start_reference(latency_ms="slow")
    with pytest.raises(ValueError, match="throttle_rate"):
        start_reference(throttle_ratee=1)  # an unknown option names the known ones, these included


def test_throttle_rate_refuses_what_comes_above_it_and_does_nothing_of_it():
    with start_reference(throttle_rate=1) as server:  # one request a second, one in the bucket
        client = Client(server.url)
        assert client.register(quicksight_user("first")).status_code == 201
        second = client.register(quicksight_user("second"))
        assert (second.status_code, parse_error_type(second.headers, second.content, PROTOCOL)) == (429, "ThrottlingException")
        assert "Retry-After" not in second.headers and json.loads(second.content)["Message"]
        assert server.store.names(client.account) == ["first"]  # refused before anything was done
        assert server.app.throttled == 1
        time.sleep(1.05)  # a token again
        assert client.register(quicksight_user("second")).status_code == 201


def test_throttle_rate_is_a_bucket_one_second_deep():
    with start_reference(throttle_rate=3) as server:
        client = Client(server.url)
        statuses = [client.list().status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429] and server.app.throttled == 2
    with start_reference() as server:  # no limit by default
        client = Client(server.url)
        assert {client.list().status_code for _ in range(20)} == {200} and server.app.throttled == 0


def test_latency_ms_delays_every_answer():
    def seconds(server, call):
        started = time.perf_counter()
        call(Client(server.url))
        return time.perf_counter() - started

    with start_reference() as server:
        plain = statistics.median(seconds(server, lambda c: c.list()) for _ in range(3))
    with start_reference(latency_ms=150) as server:
        slow = [seconds(server, lambda c: c.list()),  # an answer
                seconds(server, lambda c: c.describe("nobody"))]  # a refusal
    with start_reference(latency_ms=150, throttle_rate=1) as server:
        slow += [seconds(server, lambda c: c.list()), seconds(server, lambda c: c.list())]  # the second throttled
        assert server.app.throttled == 1
    assert plain < 0.15 and min(slow) >= 0.15, (plain, slow)


# -- the adaptive rate ---------------------------------------------------------------------------------------

def test_on_by_default_for_live_targets_only():
    def target(live):
        return Target(name="t", endpoint="https://quicksight.example.invalid", region="us-east-1",
                      account_id="123456789012", live=live, auth=lambda r: r)

    assert Transport(target(True), SPEC).throttling() == {"throttled": 0, "gave_up": 0, "rate": None, "adaptive": True}
    assert Transport(target(False), SPEC).rate_limiter is None
    assert Transport(target(False), SPEC, adaptive=True).throttling()["adaptive"] is True
    assert Transport(target(True), SPEC, adaptive=False).throttling()["adaptive"] is False


def test_throttled_answers_are_counted_with_the_limiter_off(no_aws_credentials):
    with start_reference(throttle_rate=1) as server, open_target(server.url) as target:
        transport = Transport(target, SPEC, max_retries=1, backoff=0.001)
        assert list_users(transport, target).status == 200
        with pytest.raises(Throttled):
            list_users(transport, target)
    assert transport.throttling() == {"throttled": 2, "gave_up": 1, "rate": None, "adaptive": False}
    assert server.app.throttled == 2


def burst(target, adaptive: bool, sends: int = 3 * LIMIT) -> tuple[Transport, int]:
    """`sends` requests one after the other, with a run's retry setting for loopback; the transport and how
    many requests stayed throttled after every retry."""
    transport, gave_up = Transport(target, SPEC, backoff=0.005, adaptive=adaptive), 0
    for _ in range(sends):
        try:
            assert list_users(transport, target).status == 200
        except Throttled:  # without the limiter, a request's retries may all come before the server's next token
            gave_up += 1
    return transport, gave_up


def test_a_burst_ends_with_far_fewer_throttled_answers_and_the_rate_near_the_limit(no_aws_credentials):
    counts = {}
    for adaptive in (False, True):
        with start_reference(throttle_rate=LIMIT) as server, open_target(server.url) as target:
            transport, gave_up = burst(target, adaptive)
            counts[adaptive] = transport.throttling()
            assert transport.throttled == server.app.throttled  # every throttled answer counted, once
            assert transport.gave_up == gave_up
    without, with_ = counts[False], counts[True]
    assert without["throttled"] > LIMIT, counts  # a storm: most sends past the first second's bucket
    assert 0 < with_["throttled"] * 5 <= without["throttled"], counts
    assert without["rate"] is None and LIMIT / 2 <= with_["rate"] <= LIMIT * 1.5, counts
    assert with_["gave_up"] == 0  # every request answered in the end


def test_successes_raise_the_rate_again_and_throttling_lowers_it():
    class Clock:
        now = 1000.0

        def current_time(self):
            return self.now

    clock = Clock()
    limiter = AdaptiveRate(clock)

    def answers(count, per_second, throttled=False):
        for _ in range(count):
            clock.now += 1 / per_second
            limiter.answered(throttled)

    answers(100, 100)
    assert limiter.rate is None and 95 <= limiter.measured <= 105  # nothing throttled: no limit
    answers(1, 100, throttled=True)
    after_throttle = limiter.rate
    assert 0.6 * 100 <= after_throttle <= 0.75 * 100  # CUBIC's beta: 0.7 of the rate that was throttled
    answers(100, 50)  # two seconds of successes
    raised = limiter.rate
    assert raised > after_throttle * 1.2
    answers(1, 50, throttled=True)  # throttled at 50 a second
    lowered = limiter.rate
    assert lowered < raised * 0.8 and lowered <= 0.75 * 50
    rates = []
    for _ in range(6):  # six seconds more, at 80 a second
        answers(80, 80)
        rates.append(limiter.rate)
    assert rates == sorted(rates) and rates[0] > lowered and rates[-1] > 50  # past the rate last throttled at


def test_threads_share_the_limit(throttling):
    server, target = throttling
    transport = Transport(target, SPEC, backoff=0.005, adaptive=True)
    statuses, errors = [], []

    def sender():
        try:
            statuses.extend(list_users(transport, target).status for _ in range(LIMIT))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and statuses == [200] * (3 * LIMIT)
    assert 0 < transport.throttled == server.app.throttled <= LIMIT // 2, transport.throttling()
    assert transport.rate_limiter.rate <= LIMIT * 1.5


def test_the_counts_reach_compliance_json(throttling):
    server, target = throttling
    transport = Transport(target, SPEC, backoff=0.005, adaptive=True)
    run = Run(RunConfig(target=target.endpoint, profile="quick", seed=5), SPEC, target, transport)
    run.settle_unsent()
    run.find_unsupported()
    rules = [r for r in SPEC.rules if r.sent and r.id.startswith("RegisterUser.UserRole")]
    assert rules
    for _ in range(2 * LIMIT):  # the server's first second is used up: the run is throttled from the start
        list_users(transport, target)
    for rule in rules:
        run.check_rule(rule)
    run.cleanup()
    document = compliance_document(run)
    throttling = json.loads(json.dumps(document))["throttling"]
    assert throttling == transport.throttling()
    assert throttling["throttled"] == server.app.throttled > 0 and throttling["adaptive"] is True
    assert throttling["rate"] and throttling["gave_up"] == 0
    assert {run.results.rules[r.id].status for r in rules} == {"passed"}  # no verdict lost to throttling
    assert any(line.strip().startswith(f"throttled {throttling['throttled']} time(s)") for line in summary_lines(document))
