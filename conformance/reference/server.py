"""The reference server: a WSGI app that takes a request through route, parse, validate, store and reply,
served by werkzeug on loopback in a daemon thread.

Faults (faults.py) act at those named hooks; the variant (variants.py) decides
how answers are written. SigV4 Authorization headers are not checked.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import struct
import threading
import time
import uuid
from socket import SHUT_RDWR, SO_LINGER, SOL_SOCKET
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request as WerkzeugRequest

from qsconform.conformance.reference.faults import ActiveFaults
from qsconform.conformance.reference.operations import HANDLERS, Call, existence_first
from qsconform.conformance.reference.replies import ApiError, Reply, error_reply, success_reply
from qsconform.conformance.reference.routes import OPERATIONS, match, split_path
from qsconform.conformance.reference.store import Store
from qsconform.conformance.reference.validate import SERIALIZATION, checker_for, validate
from qsconform.conformance.reference.variants import OPTION_NAMES, PACING_NAMES, Pacing, Variant, unknown_names
from qsconform.spec.loader import default_spec
from qsconform.spec.model import Spec

log = logging.getLogger("qsconform.reference")
BODY_OPERATIONS = ("RegisterUser", "UpdateUser")  # the others take no body members
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON")  # Python reads NaN and Infinity; JSON has neither


def read_json(raw: bytes, error_type: str = SERIALIZATION) -> Any:
    """The request body as JSON; an empty body is an empty object, as restJson1 servers read it."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(error_type, "The request body is not a valid JSON document.") from None


def raw_path_and_query(environ: dict) -> tuple[str, str]:
    """The request target as sent, as latin-1 text (one character per byte, like WSGI's PATH_INFO).

    werkzeug decodes PATH_INFO, so %2F would already be '/'; its dev server keeps the target as sent in
    RAW_URI, re-encoded: the UTF-8 of the latin-1 text http.server read, as latin-1 text."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:  # another WSGI server: the best we have
        return environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", "")
    parts = urlsplit(target.encode("latin-1").decode("utf-8"))
    return parts.path or "/", parts.query


class RequestBucket:
    """A token bucket of requests (Pacing.throttle_rate): `rate` a second, as deep as one second's worth
    (at least one), full at the start. Thread-safe."""

    def __init__(self, rate: float, clock=time.monotonic):
        self.rate, self.capacity, self._clock = rate, max(1.0, rate), clock
        self._tokens, self._last = self.capacity, clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """One request's token, or False when the bucket is empty (the request is over the rate)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class ReferenceApp:
    """The WSGI application: one Call per request, through the hooks, to one Reply."""

    def __init__(self, spec: Spec, store: Store, region: str, variant: Variant, faults: ActiveFaults,
                 pacing: Pacing | None = None, operations: tuple[str, ...] = OPERATIONS):
        self.store, self.region, self.variant, self.faults = store, region, variant, faults
        self.catalog = spec.errors
        self.checkers = {name: checker_for(spec, name) for name in OPERATIONS}
        self.operations = operations  # those it implements; any other is an unknown operation
        self.pacing = pacing or Pacing()
        self.skips = faults.skips | variant.skips()  # checks a fault or a lenient variant switches off
        self._requests = 0
        self._unavailable_once: set[tuple] = set()  # requests answered 503 once (transient_unavailable)
        self._lock = threading.Lock()
        self._bucket = RequestBucket(self.pacing.throttle_rate) if self.pacing.throttle_rate else None
        self.throttled = 0  # requests answered 429 ThrottlingException (throttle_rate)
        self._seen: dict[tuple, int] = {}  # how many times each request came (drop_after_effect)
        self.dropped: list[str] = []  # "METHOD path" of each request whose answer was dropped after its effect

    def __call__(self, environ: dict, start_response) -> list[bytes]:
        path, query = raw_path_and_query(environ)
        call = Call(method=environ["REQUEST_METHOD"], raw_path=path, raw_body=WerkzeugRequest(environ).get_data(),
                    request_id=str(uuid.uuid4()), region=self.region, variant=self.variant, catalog=self.catalog,
                    query=dict(parse_qsl(query, keep_blank_values=True)))
        reply = self.handle(call)
        if self._dropping(call):  # the request took effect; its answer is lost on the way back
            socket_ = environ.get("werkzeug.socket")
            if socket_ is not None:  # nothing written, the connection shut: the client reads no answer at all
                socket_.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 0))
                socket_.shutdown(SHUT_RDWR)
            raise ConnectionResetError("dropped after the effect (drop_after_effect)")  # werkzeug: sends nothing
        payload = reply.payload()
        if self.pacing.latency_ms:
            time.sleep(self.pacing.latency_ms / 1000)  # a target a network away (latency_ms)
        headers = [(k, v) for k, v in reply.headers.items()] + [("Content-Length", str(len(payload)))]
        start_response(f"{reply.status} {HTTP_STATUS_CODES.get(reply.status, 'Unknown')}", headers)
        return [payload]

    def handle(self, call: Call) -> Reply:
        if self._bucket is not None and not self._bucket.take():
            with self._lock:
                self.throttled += 1
            return self.refuse(call, ApiError("ThrottlingException", "Rate exceeded."))
        if self.variant.transient_unavailable and self._unavailable_first(call):
            return self.refuse(call, ApiError("ResourceUnavailableException", "This resource is currently unavailable.",
                                              resource_type="USER"))
        try:
            return self.answer(call)
        except ApiError as error:
            return self.refuse(call, error)
        except Exception as exc:  # a crash is an internal failure, as a real service answers it
            log.warning("reference server: %s %s crashed: %r", call.method, call.raw_path, exc)
            log.debug("the crash", exc_info=True)
            return self.refuse(call, ApiError("InternalFailureException", "An internal failure occurred."))

    def answer(self, call: Call) -> Reply:
        segments = self.faults.apply("route", split_path(call.raw_path), call)
        matched = match(call.method, segments)
        if matched is None or matched[0] not in self.operations:
            raise ApiError("UnknownOperationException", f"No operation is bound to {call.method} {call.raw_path}.")
        call.operation, call.labels = matched
        call.body = read_json(self.faults.apply("parse", call.raw_body, call), self.variant.deserialisation_error) \
            if call.operation in BODY_OPERATIONS else {}
        if self.variant.existence_first != "no":
            existence_first(call, self.store)
        validate(self.checkers[call.operation], call.labels, call.body, constraint_error=self.variant.constraint_error,
                 skips=self.skips, deserialisation_error=self.variant.deserialisation_error,
                 refusal_errors=self.variant.refusal_errors())
        self.faults.apply("validate", {**call.body, **call.labels}, call)
        store = self.faults.apply("store", self.store, call)
        status, body = HANDLERS[call.operation](call, store)
        return self.faults.apply("respond", success_reply(status, body, call.request_id, self.variant), call)

    def _dropping(self, call: Call) -> bool:
        """Whether this request's answer is dropped (Pacing.drop_after_effect): a draw of a generator seeded with
        drop_seed, the request and its occurrence, so that the same requests see the same drops every run."""
        share = self.pacing.drop_after_effect
        if not share:
            return False
        key = (call.method, call.raw_path, call.raw_body)
        with self._lock:
            seen = self._seen[key] = self._seen.get(key, 0) + 1
        digest = hashlib.sha256(repr((int(self.pacing.drop_seed), key, seen)).encode("utf-8", "surrogatepass")).digest()
        if random.Random(digest).random() >= share:
            return False
        with self._lock:
            self.dropped.append(f"{call.method} {call.raw_path}")
        return True

    def _unavailable_first(self, call: Call) -> bool:
        """Every fifth distinct request is answered 503 the first time it comes, as a busy service may."""
        key = (call.method, call.raw_path, call.raw_body)
        with self._lock:
            self._requests += 1
            if self._requests % 5 or key in self._unavailable_once:
                return False
            self._unavailable_once.add(key)
            return True

    def refuse(self, call: Call, error: ApiError) -> Reply:
        call.error = error
        return self.faults.apply("error", error_reply(error, call.request_id, self.variant, self.catalog), call)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # a conformance run sends thousands of requests; the suite reports them


class ReferenceServer:
    """A running reference server. Use as a context manager, or call stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, region: str = "us-east-1",
                 faults: tuple[str, ...] | list[str] = (), operations: tuple[str, ...] | str = OPERATIONS,
                 **variant_options: Any):
        unknown = unknown_names("reference option", sorted(variant_options), OPTION_NAMES + PACING_NAMES,
                                "--list-variants")
        if unknown:
            raise ValueError(unknown)
        operations = tuple(o.strip() for o in operations.split(",")) if isinstance(operations, str) else tuple(operations)
        if set(operations) - set(OPERATIONS):
            raise ValueError(f"operations: {', '.join(sorted(set(operations) - set(OPERATIONS)))} not among "
                             f"{', '.join(OPERATIONS)}")
        pacing = Pacing(**{k: variant_options.pop(k) for k in PACING_NAMES if k in variant_options})
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise ValueError(f"region {region!r} is not a region name such as us-east-1")
        if isinstance(faults, str):
            faults = (faults,)
        self.region, self.variant, self.faults = region, Variant(**variant_options), ActiveFaults(tuple(faults))
        self.store = Store()
        self.pacing = pacing
        # QuickSight as the installed spec describes it, whatever spec a run against it reads.
        self.app = ReferenceApp(default_spec(), self.store, region, self.variant, self.faults, pacing, operations)
        self._httpd = make_server(host, port, self.app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"qsconform-reference-{self.port}", daemon=True)
        self._thread.start()
        self._stopped = False

    @property
    def host(self) -> str:
        host = self._httpd.server_address[0]
        assert isinstance(host, str), "an IP server's address is (host, port...); bytes are for AF_UNIX"
        return host

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def reset(self) -> None:
        """Forget every user."""
        self.store.reset()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "ReferenceServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        faults = ", ".join(f.name for f in self.faults.faults) or "none"
        pacing = f", {self.pacing}" if self.pacing else ""
        return f"ReferenceServer({self.url}, region={self.region}, faults={faults}, {self.variant}{pacing})"
