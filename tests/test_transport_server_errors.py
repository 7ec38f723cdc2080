"""Documented server errors (500, 503 of the error catalog) are retried like throttling; other 5xx are verdicts.

Against the scripted HTTP server of test_transport.py on 127.0.0.1, with the transport's sleep injected.
"""
import dataclasses
import datetime
import json
import types

import pytest

from qsconform.conformance.wire.transport import Throttled, Transport
from qsconform.spec.loader import default_spec
from qsconform.spec.model import error_catalog
# The scripted server and its fixtures, shared with the other transport tests (pytest finds imported fixtures).
from test_transport import THROTTLE, _counting, _transport, scripted, server, sleeps, target, update  # noqa: F401

SPEC = default_spec()


def error(status, error_type, message="An internal failure occurred.", request_id="rid", **headers):
    """An answer in the documented error shape: the type in X-Amzn-ErrorType, a JSON object body."""
    body = json.dumps({"Message": message, "RequestId": request_id}).encode()
    return status, {"Content-Type": "application/json", "X-Amzn-ErrorType": error_type,
                    "x-amzn-RequestId": request_id, **headers}, body


UNAVAILABLE = error(503, "ResourceUnavailableException", "This resource is currently unavailable.")
INTERNAL = error(500, "InternalFailureException")


def test_server_error_then_answered(target, scripted, sleeps):
    signatures = _counting(target)
    scripted.script.append(UNAVAILABLE)
    r = _transport(target, sleeps, backoff=0.2).send(update("u"))
    assert r.status == 200 and r.retried and [x.status for x in r.retried] == [503]
    assert r.retried[0].error_type == "ResourceUnavailableException" and r.retried[0].retried == ()
    assert len(scripted.received) == 2 and len(signatures) == 2  # signed again for the second attempt
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.2
    assert len({r, *r.retried}) == 2  # a Answer stays hashable with what it carries


def test_server_error_every_time_is_the_answer(target, scripted, sleeps):
    scripted.script += [error(500, "InternalFailureException", request_id=f"rid-{i}") for i in range(1, 10)]
    t = _transport(target, sleeps, max_retries=3)
    heard = []
    t.observers.append(heard.append)
    r = t.send(update("u"))  # no exception: a 500 every time is the target's failure, for the run to judge
    assert (r.status, r.error_type, r.request_id) == (500, "InternalFailureException", "rid-4")
    assert [x.request_id for x in r.retried] == ["rid-1", "rid-2", "rid-3"]  # the earlier ones, oldest first
    assert len(scripted.received) == 4 and len(sleeps) == 3
    assert len(heard) == 1 and heard[0].response is r  # observers hear the final answer once


@pytest.mark.parametrize("answer", [
    INTERNAL,
    UNAVAILABLE,
    error(500, "InternalFailure"),  # AWS common errors
    error(503, "ServiceUnavailable"),
    # the type as restJson1 reads it from the body, with a namespace
    (503, {"Content-Type": "application/json"}, b'{"__type": "com.amazonaws#ServiceUnavailable", "message": "x"}'),
], ids=["InternalFailureException", "ResourceUnavailableException", "InternalFailure", "ServiceUnavailable",
        "type-in-body"])
def test_documented_server_errors_are_retried(target, scripted, sleeps, answer):
    scripted.script.append(answer)
    t = _transport(target, sleeps)
    r = t.send(update("u"))
    assert r.status == 200 and len(scripted.received) == 2
    assert len(r.retried) == 1 and t.is_documented_server_error(r.retried[0])


@pytest.mark.parametrize("answer", [
    (500, {"Content-Type": "text/html"}, b"<html><body><h1>Internal Server Error</h1></body></html>"),
    (502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"),  # a proxy
    error(502, "InternalFailureException"),  # a documented type, at a status nobody documents for it
    error(503, "InternalFailureException"),
    error(500, "ResourceUnavailableException"),
    error(504, "ServiceUnavailable"),
    error(500, "KeyError"),  # a type the catalog does not name
    (500, {"X-Amzn-ErrorType": "InternalFailureException"}, b""),  # no body
    (500, {"X-Amzn-ErrorType": "InternalFailureException"}, b"[]"),  # JSON, not an object
    (503, {"X-Amzn-ErrorType": "ResourceUnavailableException"}, b"unavailable"),
], ids=["html-500", "html-502", "502-typed", "503-internal", "500-unavailable", "504-typed", "unknown-type",
        "empty-body", "array-body", "text-body"])
def test_undocumented_server_errors_are_answered_at_once(target, scripted, sleeps, answer):
    scripted.script.append(answer)
    t = _transport(target, sleeps)
    r = t.send(update("u"))  # a crash is a verdict
    assert r.status == answer[0] and r.retried == () and not t.is_documented_server_error(r)
    assert len(scripted.received) == 1 and sleeps == []


def test_the_documented_errors_come_from_the_catalog(target, scripted, sleeps):
    spec = default_spec()
    errors = {k: v for k, v in spec.common["errors"].items() if k != "ServiceUnavailable"}
    errors["GatewayTimeoutException"] = {**errors["InternalFailureException"], "status": [504]}
    common = {**spec.common, "errors": errors}
    spec = dataclasses.replace(spec, common=common, errors=error_catalog(common))
    scripted.script += [error(504, "GatewayTimeoutException"), error(503, "ServiceUnavailable")]
    r = _transport(target, sleeps, spec=spec).send(update("u"))
    assert r.status == 503 and [x.status for x in r.retried] == [504] and len(scripted.received) == 2


def test_server_errors_back_off_like_throttling(target, scripted, sleeps):
    scripted.script += [INTERNAL] * 10
    r = _transport(target, sleeps, max_retries=4, backoff=0.5, max_backoff=3.0, jitter=lambda: 1.0).send(update("u"))
    assert r.status == 500 and sleeps == [0.5, 1.0, 2.0, 3.0] and len(r.retried) == 4


def test_server_errors_respect_the_total_wait(target, scripted, sleeps):
    scripted.script += [error(503, "ResourceUnavailableException", **{"Retry-After": "4"})] * 10
    r = _transport(target, sleeps, max_retries=10, max_total_wait=10).send(update("u"))
    assert sleeps == [4.0, 4.0] and len(scripted.received) == 3
    assert r.status == 503 and len(r.retried) == 2


def test_retry_after_beyond_the_time_limit_answers_at_once(target, scripted, sleeps):
    scripted.script.append(error(503, "ServiceUnavailable", **{"Retry-After": "120"}))
    r = _transport(target, sleeps, max_total_wait=30).send(update("u"))
    assert r.status == 503 and r.retried == () and sleeps == [] and len(scripted.received) == 1


def test_throttled_and_server_errors_share_the_caps(target, scripted, sleeps):
    scripted.script += [THROTTLE, UNAVAILABLE, THROTTLE, INTERNAL]
    r = _transport(target, sleeps, max_retries=4).send(update("u"))
    assert r.status == 200 and len(scripted.received) == 5 and len(sleeps) == 4
    assert [x.status for x in r.retried] == [503, 500]  # throttling is not carried: Throttled reports it
    scripted.received.clear()
    scripted.script += [THROTTLE, THROTTLE, UNAVAILABLE, INTERNAL, UNAVAILABLE]
    r = _transport(target, sleeps, max_retries=3).send(update("u"))
    assert (r.status, [x.status for x in r.retried]) == (500, [503]) and len(scripted.received) == 4


def test_throttled_at_the_end_raises_with_the_server_errors_before(target, scripted, sleeps):
    scripted.script += [UNAVAILABLE, THROTTLE]
    with pytest.raises(Throttled) as info:
        _transport(target, sleeps, max_retries=1).send(update("u"))
    assert info.value.response.status == 429 and [x.status for x in info.value.response.retried] == [503]


def test_each_attempt_is_signed_afresh(target, scripted, monkeypatch):
    """The signer's clock moves on with each injected sleep: every attempt carries its own X-Amz-Date and
    Authorization, as a real wait would give it (a signature expires; credentials may be refreshed)."""
    now = [datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)]

    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return now[0]

    import requests_aws4auth.aws4auth as signing
    monkeypatch.setattr(signing, "datetime", types.SimpleNamespace(
        datetime=Clock, date=datetime.date, timezone=datetime.timezone))

    def sleep(seconds):
        now[0] += datetime.timedelta(seconds=max(1.0, seconds))

    scripted.script += [INTERNAL, UNAVAILABLE]
    r = Transport(target, SPEC, timeout=5.0, sleep=sleep).send(update("u"))
    assert r.status == 200
    dates = [got["headers"]["X-Amz-Date"] for got in scripted.received]
    signatures = [got["headers"]["Authorization"] for got in scripted.received]
    assert dates[0] == "20240501T120000Z" and len(set(dates)) == 3 and len(set(signatures)) == 3
