"""Sending requests to a target: URLs from the spec's URI templates, SigV4 on every attempt, retries on throttling
and on documented server errors, and (on live targets) a send rate that adapts to the target's throttling.

The path is sent exactly as built. requests would otherwise remove dot
segments ("users/.." becomes "/") and decode "%2E": a user named ".." must
reach the server as "users/..", so the prepared request's URL is set back to
the one we built before it is signed and sent.
"""
from __future__ import annotations

import json
import logging
import random
import re
import shlex
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote, urlsplit

import botocore.exceptions
from botocore.retries import adaptive as botocore_adaptive, bucket, throttling
import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from qsconform.conformance.wire.protocol import RequestLine, Answer
from qsconform.conformance.wire.targets import Target, TargetError, TargetUnreachable, exception_chain, connection_problem, describe
from qsconform.spec.model import Spec
from qsconform.spec.service import http_binding

log = logging.getLogger("qsconform.transport")

USER_AGENT = "qsconform/0.1 (conformance suite; +requests)"
_LABEL = re.compile(r"\{(\w+)(\+?)\}")
_QUERY_SAFE = "-_.~"  # the unreserved characters, as botocore's percent_encode keeps them


class Throttled(Exception):
    """The target still throttled after every retry; the example is inconclusive, not a verdict."""

    def __init__(self, response: Answer, attempts: int, why: str = ""):
        what = f"{response.status} {response.error_type or ''}".strip()
        super().__init__(f"still throttled after {attempts} attempt(s) ({what}){': ' + why if why else ''}")
        self.response, self.attempts = response, attempts


@dataclass(frozen=True)
class Sent:
    """One request as sent and the final answer to it, as told to Transport.observers."""

    operation: str
    path_params: Mapping[str, Any]
    body: bytes | None  # the bytes sent; None when there was no body
    query: Mapping[str, Any] | None
    response: Answer


class _Transient(Exception):
    """The connection broke after it was made (reset, closed mid-answer): worth another attempt."""


class AnswerLost(Exception):
    """A request that changes the target's state (RegisterUser, UpdateUser, DeleteUser...) was sent and its answer
    lost (the connection broke after it was made): it may have taken effect. Not sent again: what another attempt
    got (a 409 for a registration that did happen) would say nothing of this one. The caller learns by reading
    what happened (conformance/engine/users.py)."""

    def __init__(self, operation: str, problem: str):
        super().__init__(f"the answer to {operation} was lost ({problem})")
        self.operation, self.problem = operation, problem


# Operations that only read: sent again when their answer is lost. Every other one may have changed the target.
READ_ONLY = re.compile(r"^(Describe|List|Get|Search)")


class AdaptiveRate:
    """botocore's client-side rate limiter (the `adaptive` retry mode of every AWS SDK): throttled answers lower
    the send rate, successes raise it again, along a CUBIC curve (botocore.retries.throttling.CubicCalculator)
    that a token bucket (botocore.retries.bucket.TokenBucket) enforces. Off until the first throttled answer:
    a target that never throttles is never slowed. Thread-safe, as botocore's is (each part holds its lock).

    `before_send()` takes a token (waiting for it once limiting), `answered(throttled)` tells the answer.
    """

    def __init__(self, clock: bucket.Clock | None = None):
        clock = clock or _MonotonicClock()
        self._bucket = bucket.TokenBucket(max_rate=1, clock=clock)
        self._clocker = _RateClocker(clock)
        self._limiter = botocore_adaptive.ClientRateLimiter(
            rate_adjustor=throttling.CubicCalculator(starting_max_rate=0, start_time=clock.current_time()),
            rate_clocker=self._clocker, token_bucket=self._bucket, throttling_detector=_Told(), clock=clock)
        self.limiting = False

    def before_send(self) -> None:
        self._clocker.started()
        self._limiter.on_sending_request(request=None)

    def answered(self, throttled: bool) -> None:
        self._limiter.on_receiving_response(throttled=throttled)
        if throttled:
            self.limiting = True

    @property
    def rate(self) -> float | None:
        """The send rate in requests per second the limiter allows now; None while nothing was throttled."""
        return self._bucket.max_rate if self.limiting else None

    @property
    def measured(self) -> float:
        """The send rate measured over the last half-seconds (answers a second)."""
        return self._clocker.current()


class _MonotonicClock(bucket.Clock):
    """botocore's clock reads time.time(), which a clock adjustment moves; rates need a steady one."""

    def current_time(self) -> float:
        return time.monotonic()


class _Told:
    """The throttling detector of ClientRateLimiter: the transport has already decided (is_throttled)."""

    @staticmethod
    def is_throttling_error(throttled: bool = False, **_: Any) -> bool:
        return throttled


class _RateClocker:
    """The send rate that ClientRateLimiter measures (answers a second), smoothed as botocore's RateClocker
    smooths it (0.8 of each half-second's rate, 0.2 of the figure before). botocore's counts its half-seconds
    from the whole second it was created in, so its first figure is one answer over up to a second: a
    throttled answer then puts the rate at the token bucket's floor (0.5 a second), and it takes seconds to
    climb back. This one starts at the first send, and until its first half-second is over it says the
    answers so far over the time since then."""

    SMOOTHING, PERIOD = 0.8, 0.5

    def __init__(self, clock: bucket.Clock):
        self._now = clock.current_time
        self._lock = threading.Lock()
        self._since: float | None = None  # when the current period began: at the first send
        self._count, self._measured = 0, 0.0

    def started(self) -> None:
        with self._lock:
            if self._since is None:
                self._since = self._now()

    def record(self, amount: int = 1) -> float:
        with self._lock:
            now = self._now()
            if self._since is None:
                self._since = now
            self._count += amount
            elapsed = now - self._since
            if elapsed >= self.PERIOD:
                rate = self._count / elapsed
                self._measured = rate if not self._measured else \
                    self.SMOOTHING * rate + (1 - self.SMOOTHING) * self._measured
                self._since, self._count = now, 0
            return self._current(now)

    def current(self) -> float:
        with self._lock:
            return self._current(self._now())

    def _current(self, now: float) -> float:
        if self._measured or self._since is None:
            return self._measured
        return self._count / max(now - self._since, 0.001)  # the first half-second is not over yet


def expand_uri(template: str, labels: Mapping[str, Any]) -> str:
    """The path of a URI template with each label percent-encoded as a whole (UTF-8), so '/', '%', '?', '#',
    ' ' and '.' inside a value stay inside its path segment; a greedy label ({Name+}) keeps its '/'."""
    def one(match: re.Match) -> str:
        name, greedy = match.group(1), match.group(2) == "+"
        if name not in labels or labels[name] is None:
            raise ValueError(f"no value for the URI label {name} of {template}")
        value = labels[name] if isinstance(labels[name], str) else str(labels[name])
        return quote(value.encode("utf-8"), safe="/" if greedy else "")

    return _LABEL.sub(one, template)


class Transport:
    """Sends requests to one target over a requests.Session per thread (connections are reused), signed by the target.

    Throttled answers (429, or an answer of the spec's "throttled" outcome), documented server errors
    (is_documented_server_error) and broken connections are retried up to `max_retries` times, with
    exponential backoff and full jitter or the server's Retry-After, sleeping `max_total_wait` seconds at
    most in all; then Throttled / TargetUnreachable, or the last server error as the answer. An answer
    carries the server errors retried before it in `Answer.retried` (not the throttled ones).

    `observers` are called with a `Sent` once per answered send/call, after its retries (a cassette
    records them). A request that ends in Throttled or TargetUnreachable got no answer to tell.

    `adaptive` (default: on for a live target) paces every attempt with AdaptiveRate: once the target
    throttles, the send rate drops below the rate it was throttled at and climbs back while answers come.
    Whether on or off, `throttling()` counts the throttled answers; with it on, it also tells the rate.
    """

    def __init__(self, target: Target, spec: Spec, *, timeout: float = 10.0, max_retries: int = 4,
                 backoff: float = 0.2, max_backoff: float = 20.0, max_total_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, jitter: Callable[[], float] | None = None,
                 adaptive: bool | None = None):
        self.target, self.spec = target, spec
        self.protocol = spec.protocol
        self.timeout, self.max_retries, self.backoff = timeout, max_retries, backoff
        self.max_backoff, self.max_total_wait = max_backoff, max_total_wait
        # Its own generator, not the random module's: a retry in one thread while another draws a request
        # would change the state Hypothesis watches (HypothesisDeprecationWarning, an error to come).
        self._sleep, self._jitter = sleep, jitter or random.Random().random
        throttled = spec.outcome_answers("throttled")
        self._throttle_answers = {(int(s), t) for s, t in throttled}
        self._throttle_types = {t for _, t in throttled if t}
        # The error catalog's 5xx (status, type) pairs: InternalFailureException 500, ResourceUnavailableException
        # 503 and the AWS common InternalFailure 500, ServiceUnavailable 503.
        self._server_errors = {(int(s), name) for name, e in spec.errors.items() for s in e.status if 500 <= int(s) <= 599}
        # One requests.Session per sending thread (a run may judge rules side by side, conformance/engine/side_by_side.py):
        # requests does not promise a Session is thread-safe, and each thread keeps its connection alive.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self.observers: list[Callable[[Sent], None]] = []
        self.rate_limiter = AdaptiveRate() if (target.live if adaptive is None else adaptive) else None
        self._counts_lock = threading.Lock()
        self.throttled = 0  # throttled answers, every attempt counted
        self.gave_up = 0  # requests still throttled after every retry (Throttled raised)
        self.requests: Counter = Counter()  # requests sent (not attempts), by operation

    @property
    def _named(self) -> str:
        return describe(self.target.name, self.target.endpoint)

    @property
    def session(self) -> requests.Session:
        """This thread's requests.Session."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = self.target.live  # no proxy or .netrc for a loopback target
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # every request stands alone
            session.headers["User-Agent"] = USER_AGENT
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- building ---------------------------------------------------------------------

    def url_for(self, request) -> str:
        """The URL of a qsconform.spec.request.Request: the operation's spec URI template with its labels filled."""
        template = self.spec[request.operation].uri
        return self.target.endpoint + expand_uri(template, request.path_params)

    def binding(self, operation: str, path_params: Mapping[str, Any]) -> tuple[str, str]:
        """(method, path) of a request of any operation with these labels, the target's endpoint left out: the
        spec's binding for its operations, botocore's for the others (DescribeUser, DeleteUser)."""
        if operation in self.spec.operations:
            return self.spec[operation].method, expand_uri(self.spec[operation].uri, path_params)
        method, url = self._helper_binding(operation, path_params, None)
        return method, url[len(self.target.endpoint):]

    def _helper_binding(self, operation: str, path_params: Mapping[str, Any],
                        query: Mapping[str, Any] | None) -> tuple[str, str]:
        binding = http_binding(operation)
        pairs = [binding.fixed_query] if binding.fixed_query else []
        for name, value in (query or {}).items():
            if value is None:
                continue
            if name not in binding.query_names:
                raise ValueError(f"{name} is not a query-string member of {operation}")
            pairs.append(f"{quote(binding.query_names[name], safe=_QUERY_SAFE)}={quote(str(value), safe=_QUERY_SAFE)}")
        url = self.target.endpoint + expand_uri(binding.path, path_params)
        return binding.method, url + ("?" + "&".join(pairs) if pairs else "")

    # -- sending ----------------------------------------------------------------------

    def send(self, request) -> Answer:
        """Send a qsconform.spec.request.Request as the spec binds its operation; retried while throttled."""
        method = self.spec[request.operation].method
        body = request.body_bytes()
        self._sending(request.operation)
        response = self._exchange(method, self.url_for(request), body, self.protocol.request_content_type,
                                  request.operation)
        self._tell(Sent(request.operation, dict(request.path_params), body, None, response))
        return response

    def call(self, operation: str, path_params: Mapping[str, Any], body: Any = None, *,
             query: Mapping[str, Any] | None = None) -> Answer:
        """Call any QuickSight operation (DescribeUser, DeleteUser, ListUsers, RegisterUser, ...) with its
        HTTP binding from botocore's model. `query` takes member names (NextToken), not wire names."""
        method, url = self._helper_binding(operation, path_params, query)
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        self._sending(operation)
        response = self._exchange(method, url, data, self.protocol.request_content_type if data else None, operation)
        self._tell(Sent(operation, dict(path_params), data or None, dict(query) if query else None, response))
        return response

    def _sending(self, operation: str) -> None:
        with self._counts_lock:
            self.requests[operation] += 1

    def _tell(self, sent: Sent) -> None:
        for observer in list(self.observers):
            observer(sent)

    def throttling(self) -> dict:
        """What throttling the run met, for compliance.json: the throttled answers, the requests that stayed
        throttled after every retry, whether the rate adapted, and the rate it allowed at the end (requests a
        second; None when it never had to limit or is off)."""
        rate = self.rate_limiter.rate if self.rate_limiter is not None else None
        with self._counts_lock:
            return {"throttled": self.throttled, "gave_up": self.gave_up,
                    "rate": None if rate is None else round(rate, 2), "adaptive": self.rate_limiter is not None}

    def is_throttled(self, response: Answer) -> bool:
        return (response.status == 429 or (response.error_type or "") in self._throttle_types
                or (response.status, response.error_type or "") in self._throttle_answers)

    def is_documented_server_error(self, response: Answer) -> bool:
        """A 5xx the error catalog documents, with that status, in the documented shape (a JSON object): a
        transient failure worth another attempt. Anything else at 5xx (an HTML page, a proxy's 502, a type or
        body nobody documents) is a crash, and a crash is a verdict."""
        return ((response.status, response.error_type or "") in self._server_errors
                and isinstance(response.json_body, dict))

    def _exchange(self, method: str, url: str, body: bytes, content_type: str | None,
                  operation: str = "") -> Answer:
        """One request, attempted up to max_retries + 1 times while throttled, answered with a documented server
        error, or, for an operation that only reads, while the connection breaks (one that changes state raises
        AnswerLost instead); the sleeps between attempts add up to at most max_total_wait seconds. The answer
        carries the server errors retried before it."""
        waited = 0.0
        server_errors: list[Answer] = []
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            if self.rate_limiter is not None:
                self.rate_limiter.before_send()
            try:
                response, problem = self._attempt(method, url, body, content_type), ""
            except _Transient as exc:
                if not READ_ONLY.match(operation):
                    raise AnswerLost(operation or method, str(exc)) from None
                response, problem = None, str(exc)
            else:
                self._count(response)
                problem = self._retry_reason(response)
                if not problem:
                    return _with_retried(response, server_errors)
            delay = self._retry_delay(response, attempt)
            why = None
            if attempt == attempts:
                why = ""
            elif waited + delay > self.max_total_wait:
                why = f"waiting {delay:g} s more would pass the {self.max_total_wait:g} s limit"
            if why is not None:
                return self._give_up(response, server_errors, attempt, problem, why)
            if response is not None and not self.is_throttled(response):
                server_errors.append(response)  # throttling is reported apart (Throttled): not carried
            log.debug("%s %s: %s, attempt %d, retrying in %.2f s", method, url, problem, attempt, delay)
            self._sleep(delay)
            waited += delay
        raise AssertionError("not reached: the last attempt returns or raises")

    def _count(self, response: Answer) -> None:
        """An answer, told to the rate limiter and counted when throttled."""
        throttled = self.is_throttled(response)
        if throttled:
            with self._counts_lock:
                self.throttled += 1
        if self.rate_limiter is not None:
            self.rate_limiter.answered(throttled)

    def _retry_reason(self, response: Answer) -> str:
        """Why an answer is worth another attempt, for the log; "" when it is the answer."""
        what = f"{response.status} {response.error_type or ''}".strip()
        if self.is_throttled(response):
            return f"throttled ({what})"
        if self.is_documented_server_error(response):
            return f"server error ({what})"
        return ""

    def _retry_delay(self, response: Answer | None, attempt: int) -> float:
        """The server's Retry-After when it gave one, else the backoff of this attempt."""
        retry_after = _retry_after(response) if response is not None else None
        return retry_after if retry_after is not None else self._backoff_delay(attempt - 1)

    def _give_up(self, response: Answer | None, server_errors: Sequence[Answer], attempt: int,
                 problem: str, why: str) -> Answer:
        """No more attempts. No answer, or a throttled one, leaves the example without a verdict (raised); a
        documented server error every time is the target's failure, returned for the run to judge."""
        if response is None:
            raise TargetUnreachable(f"{self._named}: {problem} after {attempt} attempt(s){'; ' + why if why else ''}")
        response = _with_retried(response, server_errors)
        if self.is_throttled(response):
            with self._counts_lock:
                self.gave_up += 1
            raise Throttled(response, attempt, why)
        log.debug("%s after %d attempt(s)%s: answered as is", problem, attempt, "; " + why if why else "")
        return response

    def _backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return self._jitter() * min(self.max_backoff, self.backoff * (2 ** attempt))

    def _attempt(self, method: str, url: str, body: bytes, content_type: str | None) -> Answer:
        headers = {"Content-Type": content_type} if content_type else {}
        prepared = self.session.prepare_request(requests.Request(method, url, data=body or None, headers=headers))
        prepared.url = url  # the path as built; see the module docstring
        try:
            self.target.auth(prepared)  # signed again on every attempt: a fresh date, refreshed credentials
        except botocore.exceptions.BotoCoreError as exc:
            raise TargetError(f"cannot sign the request: {exc}") from None
        settings = self.session.merge_environment_settings(url, {}, None, None, None)
        parts = urlsplit(url)
        sent = RequestLine(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                           tuple(headers.items()))
        capture = self.target.server_log.begin() if self.target.server_log is not None else None
        answered: tuple[int | None, bool] = (None, False)
        started = time.perf_counter()
        try:
            r = self.session.send(prepared, timeout=self.timeout, allow_redirects=False, **settings)
            content = r.content
            answered = (r.status_code, r.headers.get("Connection", "").lower() == "close")
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
            raise TargetUnreachable(f"{self._named}: {connection_problem(exc, self.timeout)}") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            if any(isinstance(e, urllib3.exceptions.NewConnectionError) for e in exception_chain(exc)):
                raise TargetUnreachable(f"{self._named} is unreachable: "
                                        f"{connection_problem(exc, self.timeout)}") from None
            raise _Transient(connection_problem(exc, self.timeout)) from None
        finally:
            elapsed = time.perf_counter() - started
            server_log = capture.end(*answered) if capture is not None else ()
        return Answer(status=r.status_code, headers=CaseInsensitiveDict(r.headers), body=content,
                        elapsed=elapsed, protocol=self.protocol, sent=sent, server_log=server_log)

    # -- reproducing --------------------------------------------------------------------

    def curl(self, request) -> str:
        """A curl command line (curl >= 7.75) that sends the request again, signed by curl itself from
        $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY: no credential or signature is written out. Against
        an emulator (not live) those default to dummy values, since emulators take any signature."""
        method = self.spec[request.operation].method
        url = self.url_for(request)
        body = request.body_bytes()
        parts = ["curl", "--include", "--silent", "--show-error", "--path-as-is", "-X", method, shlex.quote(url),
                 "--aws-sigv4", shlex.quote(f"aws:amz:{self.target.region}:{self.target.service}"),
                 '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"' if self.target.live
                 else '--user "${AWS_ACCESS_KEY_ID:-test}:${AWS_SECRET_ACCESS_KEY:-test}"']
        if self.target.session_token:
            parts.append('-H "X-Amz-Security-Token: $AWS_SESSION_TOKEN"')
        parts += ["-H", shlex.quote(f"Content-Type: {self.protocol.request_content_type}")]
        if not body:
            return " ".join(parts)
        text = _shell_safe_text(body)
        if text is not None:
            return " ".join(parts + ["--data-binary", shlex.quote(text)])
        return f"printf {shlex.quote(_printf_format(body))} | " + " ".join(parts + ["--data-binary", "@-"])


def _with_retried(response: Answer, server_errors: Sequence[Answer]) -> Answer:
    """The answer with the server errors retried before it (a copy: a Answer is frozen)."""
    return replace(response, retried=tuple(server_errors)) if server_errors else response


def _retry_after(response: Answer) -> float | None:
    """Retry-After in seconds (delta-seconds form); None when absent or not a number."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None


def _shell_safe_text(body: bytes) -> str | None:
    """The body as text when a shell argument can carry it (UTF-8, no NUL), else None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _printf_format(body: bytes) -> str:
    """A printf format string that writes `body` byte for byte (octal escapes for all but plain ASCII)."""
    out = []
    for b in body:
        ch = chr(b)
        out.append(ch if 0x20 <= b < 0x7F and ch not in "\\%'" else f"\\{b:03o}")
    return "".join(out)
