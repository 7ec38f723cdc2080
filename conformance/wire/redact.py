"""Keep credentials and signatures out of everything that reaches a report, a log or an attachment.

A `Redactor` knows the credential values in use (the signer tells it each time
credentials are refreshed) and scrubs them, in their plain and percent-encoded
forms, from strings, bytes and nested dicts/lists. Header values that carry a
signature or a token are replaced whatever they contain, and text that looks
like a SigV4 Authorization header loses its key id and signature.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

REDACTED = "[REDACTED]"
# Shorter values are not redacted: scrubbing a 1-3 character "secret" would garble every report.
MIN_SECRET_LENGTH = 4
SENSITIVE_HEADERS = frozenset({"authorization", "x-amz-security-token", "proxy-authorization", "cookie", "set-cookie"})

_SIGV4_TEXT = [
    # Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/quicksight/aws4_request, ..., Signature=hex
    (re.compile(r"(Credential=)[^/,\s\"']+"), r"\1" + REDACTED),
    (re.compile(r"((?:X-Amz-)?Signature=)[0-9a-fA-F]{16,}"), r"\1" + REDACTED),
    # a token header or query parameter written out as text; a shell placeholder ($AWS_SESSION_TOKEN) stays
    (re.compile(r"(x-amz-security-token[\"']?\s*[:=]\s*[\"']?)(?!\$)[^\s\"',&]+", re.IGNORECASE), r"\1" + REDACTED),
]


def _forms(secret: str) -> set[str]:
    """The ways a secret appears in text: as is and percent-encoded (secret keys hold '/' and '+')."""
    return {secret, quote(secret, safe=""), quote(secret, safe="/")}


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (plain or percent-encoded) and SigV4 key id/signature replaced."""
    forms = sorted({f for s in secrets if s and len(s) >= MIN_SECRET_LENGTH for f in _forms(s)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, REDACTED)
    for pattern, repl in _SIGV4_TEXT:
        text = pattern.sub(repl, text)
    return text


class Redactor:
    """Scrubs the current credential values from anything on its way to a report."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if isinstance(s, str) and s)

    def add_credentials(self, creds: Any) -> None:
        """Remember the values of botocore (frozen) credentials; call again after every refresh."""
        if creds is None:
            return
        frozen = creds.get_frozen_credentials() if hasattr(creds, "get_frozen_credentials") else creds
        self.add(frozen.access_key, frozen.secret_key, frozen.token)

    @property
    def secrets(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets)"

    def redact(self, value: Any) -> Any:
        """`value` with secrets scrubbed: str, bytes, and dicts/lists/tuples of them, keys included."""
        return self._walk(value, self.secrets)

    def _walk(self, value: Any, secrets: frozenset[str]) -> Any:
        if isinstance(value, str):
            return redact(value, secrets)
        if isinstance(value, (bytes, bytearray)):
            return redact(bytes(value).decode("utf-8", "surrogateescape"), secrets).encode("utf-8", "surrogateescape")
        if isinstance(value, Mapping):
            out = {}
            for k, v in value.items():
                key = self._walk(k, secrets)
                out[key] = REDACTED if isinstance(k, str) and k.lower() in SENSITIVE_HEADERS else self._walk(v, secrets)
            return out
        if isinstance(value, list):
            return [self._walk(v, secrets) for v in value]
        if isinstance(value, tuple):
            return tuple(self._walk(v, secrets) for v in value)
        return value
