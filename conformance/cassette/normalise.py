"""What one target said, turned into what any faithful target would say (placeholders for the differences),
and placeholders turned back into one target's values for a replay."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qsconform.conformance.cassette.format import (ACCOUNT, INVITATION_URL, PRINCIPAL_ID, REGION, REQUEST_ID,
                                                   TIMESTAMP)
from qsconform.conformance.cassette.names import UserNames
from qsconform.conformance.wire.protocol import json_or_missing
from qsconform.conformance.wire.redact import Redactor
from qsconform.spec.model import MISSING

MAX_TEXT = 4000  # characters of a non-JSON answer kept (an HTML error page says what it is in far fewer)

# Members whose values differ between any two servers for the same request: normalised by name, wherever they are.
MEMBER_PLACEHOLDERS = {"RequestId": REQUEST_ID, "PrincipalId": PRINCIPAL_ID, "UserInvitationUrl": INVITATION_URL}
# Keys that must never carry their value into a cassette, whoever echoes them (lower case).
NEVER_RECORDED = frozenset({"authorization", "proxy-authorization", "x-amz-security-token", "x-amz-date",
                            "cookie", "set-cookie"})
_TIMESTAMP_KEY = re.compile(r"(date|time|timestamp)$", re.IGNORECASE)
_TIMESTAMP_TEXT = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"  # ISO 8601
    r"|\b\d{8}T\d{6}Z\b"  # SigV4's basic format (X-Amz-Date)
    r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\b")  # HTTP date


@dataclass
class Normaliser:
    """Turns what one target said into what any faithful target would say, placeholders for the differences.

    Requests are normalised only as far as a replay can undo it (names, account, region); answers
    also lose request ids, principal ids, invitation URLs and timestamps.
    """

    account_id: str | None
    region: str | None
    users: UserNames
    redactor: Redactor = field(default_factory=Redactor)

    def request_text(self, text: str) -> str:
        text = self.users.in_text(self.redactor.redact(text))
        if self.account_id:
            text = text.replace(self.account_id, ACCOUNT)
        if self.region:
            text = text.replace(self.region, REGION)
        return text

    def request_value(self, value: Any) -> Any:
        """A value we sent: a string that starts with the prefix is a user name as a whole (even one made
        to break a rule); elsewhere known names, the account and the region are replaced."""
        if isinstance(value, str):
            if value.startswith(self.users.prefix):
                return self.users.reference(self.redactor.redact(value))
            return self.request_text(value)
        if isinstance(value, list):
            return [self.request_value(v) for v in value]
        if isinstance(value, dict):
            return {self.request_text(k): self.request_value(v) for k, v in value.items()}
        return value

    def answer_text(self, text: str, request_ids: tuple[str, ...] = ()) -> str:
        text = self.redactor.redact(text)
        for rid in request_ids:
            text = text.replace(rid, REQUEST_ID)
        return _TIMESTAMP_TEXT.sub(TIMESTAMP, self.request_text(text))

    def answer_value(self, value: Any, request_ids: tuple[str, ...] = ()) -> Any:
        """A value a target answered: by-name placeholders for volatile members, then as answer_text."""
        if isinstance(value, str):
            return self.answer_text(value, request_ids)
        if isinstance(value, list):
            return [self.answer_value(v, request_ids) for v in value]
        if isinstance(value, dict):
            return {self.answer_text(k): self._member(k, v, request_ids) for k, v in value.items()}
        return value

    def _member(self, key: str, value: Any, request_ids: tuple[str, ...]) -> Any:
        if key.lower() in NEVER_RECORDED:
            return "[REDACTED]"
        if key in MEMBER_PLACEHOLDERS and isinstance(value, str):
            return MEMBER_PLACEHOLDERS[key]
        if _TIMESTAMP_KEY.search(key) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            # a number stays a number, so that a type difference still shows
            return TIMESTAMP if isinstance(value, str) else 0
        return self.answer_value(value, request_ids)

    # -- requests and answers ------------------------------------------------------------

    def request(self, operation: str, path_params: Mapping[str, Any], body: bytes | None,
                query: Mapping[str, Any] | None) -> dict:
        out = {"operation": operation,
               "path_params": {k: self.request_value(v) for k, v in path_params.items()},
               "query": {k: self.request_value(v) for k, v in query.items()} if query else None}
        out.update(self.body(body))
        return out

    def body(self, body: bytes | None) -> dict:
        """{"body": JSON, "ascii_json": bool} when JSON re-encodes to exactly these bytes, else {"raw_body": text}."""
        data = body or b""
        parsed = json_or_missing(data)
        if parsed is not MISSING:
            for ascii_json in (True, False):
                if _encode(parsed, ascii_json) == data:
                    return {"body": self.request_value(parsed), "ascii_json": ascii_json}
        # not JSON, or JSON with duplicate keys, spaces, ...: keep the bytes (as text, undecodable bytes escaped)
        return {"raw_body": self.request_text(data.decode("utf-8", "surrogateescape"))}

    def response(self, response) -> dict:
        """status, error type, content type, whether a request id header came, and the normalised body."""
        header_rid = response.request_id or ""
        parsed = response.json_body if response.is_json else None
        body_rid = parsed.get("RequestId") if isinstance(parsed, dict) else None
        rids = tuple(r for r in (header_rid, body_rid) if isinstance(r, str) and len(r) >= 8)
        if response.is_json:
            kind, body = "json", self.answer_value(parsed, rids)
        elif response.body:
            kind, body = "text", self.answer_text(response.body.decode("utf-8", "replace")[:MAX_TEXT], rids)
        else:
            kind, body = "empty", None
        error_type = response.error_type
        return {"status": response.status, "error_type": self.answer_text(error_type) if error_type else None,
                "content_type": response.content_type, "request_id_header": bool(header_rid),
                "body_kind": kind, "body": body}


class Denormaliser:
    """Placeholders back to one target's values: its account and region, names under a fresh prefix."""

    _PLACEHOLDER = re.compile(r"\{(?:account|region|user-[0-9]+)\}")

    def __init__(self, account_id: str, region: str, users: UserNames):
        self.account_id, self.region, self.users = account_id, region, users

    def text(self, text: str) -> str:
        def one(m: re.Match) -> str:
            token = m.group(0)
            if token == ACCOUNT:
                return self.account_id
            if token == REGION:
                return self.region
            return self.users.name(token)
        return self._PLACEHOLDER.sub(one, text)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        return value

    def body_bytes(self, interaction: Mapping[str, Any]) -> bytes:
        if "raw_body" in interaction:
            return self.text(interaction["raw_body"]).encode("utf-8", "surrogateescape")
        return _encode(self.value(interaction["body"]), interaction.get("ascii_json", True))


# -- request bodies as JSON -------------------------------------------------------------------

def _encode(value: Any, ascii_json: bool) -> bytes:
    """JSON as qsconform.spec.request.Request.body_bytes and Transport.call write it."""
    return json.dumps(value, ensure_ascii=ascii_json, separators=(",", ":")).encode("utf-8", "surrogateescape")
