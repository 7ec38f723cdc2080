"""How a restJson1 answer is read: its error type, JSON body, content type and request id.

Header and member names come from the spec (common.json "protocol"), so a
different protocol reading is a spec change, not a code change.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from requests.structures import CaseInsensitiveDict

from qsconform.spec.model import MISSING, Protocol


def sanitize_error_type(value: Any) -> str | None:
    """The shape name in an error type value, as restJson1 clients read it.

    A value may carry a namespace ("aws.protocoltests.restjson#FooError") and a
    URI ("FooError:http://internal.amazon.com/coral/..."): keep what is before
    the first ':' and after the last '#'. The ':' cut comes first because the
    URI after it may itself contain '#'.
    """
    if not isinstance(value, str):
        return None
    name = value.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name or None


def parse_error_type(headers: Mapping[str, str], body: bytes, protocol: Protocol) -> str | None:
    """The error type of an answer: the error-type header first, then the body members in spec order."""
    headers = headers if isinstance(headers, CaseInsensitiveDict) else CaseInsensitiveDict(headers)
    header = headers.get(protocol.error_type_header)
    if header is not None:
        name = sanitize_error_type(header)
        if name:
            return name
    document = _json_or_none(body)
    if isinstance(document, dict):
        for member in protocol.error_type_body_members:
            name = sanitize_error_type(document.get(member))
            if name:
                return name
    return None


class _NotJson(Exception):
    pass


def _reject_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity; JSON (RFC 8259) has neither.
    raise _NotJson(name)


def json_or_missing(body: bytes) -> Any:
    """A body read as JSON (RFC 8259: no NaN, no Infinity), or MISSING when it is empty or no JSON."""
    if not body:
        return MISSING
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, _NotJson, RecursionError):
        return MISSING


def _json_or_none(body: bytes) -> Any:
    value = json_or_missing(body)
    return None if value is MISSING else value


@dataclass(frozen=True)
class RequestLine:
    """A request as it was sent: the method, the path and query as on the wire, the headers that matter."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()  # Content-Type when a body was sent; never a signature

    def as_dict(self) -> dict:
        return {"method": self.method, "path": self.path, "headers": dict(self.headers)}


@dataclass(frozen=True, eq=False)
class Answer:
    """One HTTP answer, as received (after content decoding)."""

    status: int
    headers: CaseInsensitiveDict
    body: bytes
    elapsed: float  # seconds, from sending the request to reading the whole body
    protocol: Protocol = field(repr=False, kw_only=True)  # the spec's reading of an answer
    # The documented server errors (500, 503) the transport retried before this answer, oldest first: a run
    # can record a transient failure of the target without judging the request by it.
    retried: tuple[Answer, ...] = field(default=(), repr=False)
    sent: RequestLine | None = field(default=None, repr=False)  # the request this answers, as sent
    # What the server logged while answering, when the run started it itself (conformance/wire/serverlog.py).
    server_log: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CaseInsensitiveDict):
            object.__setattr__(self, "headers", CaseInsensitiveDict(self.headers))
        if not isinstance(self.retried, tuple):
            object.__setattr__(self, "retried", tuple(self.retried))

    @cached_property
    def _parsed(self) -> Any:
        return json_or_missing(self.body)

    @property
    def is_json(self) -> bool:
        """Whether the body is one JSON value in UTF-8 (whatever the Content-Type says)."""
        return self._parsed is not MISSING

    @property
    def json_body(self) -> Any:
        """The parsed body, or None when it is not JSON (a JSON null is also None: ask is_json)."""
        return None if self._parsed is MISSING else self._parsed

    @cached_property
    def error_type(self) -> str | None:
        return parse_error_type(self.headers, self.body, self.protocol)

    @property
    def content_type(self) -> str | None:
        """The media type without parameters, lower-case; None when the header is missing."""
        value = self.headers.get("Content-Type")
        if value is None:
            return None
        return value.split(";", 1)[0].strip().lower()

    @property
    def request_id(self) -> str | None:
        return self.headers.get(self.protocol.request_id_header)

    def __repr__(self) -> str:
        # Headers and body stay out: a repr lands in logs and tracebacks.
        retried = f", retried={[r.status for r in self.retried]}" if self.retried else ""
        return (f"Answer(status={self.status}, error_type={self.error_type!r}, "
                f"content_type={self.content_type!r}, body={len(self.body)} bytes, elapsed={self.elapsed:.3f}s"
                f"{retried})")
