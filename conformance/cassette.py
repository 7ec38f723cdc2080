"""Cassettes: every exchange of a run, recorded in order and normalised so that another target can replay it.

A cassette is meant to be recorded against real AWS and kept in a repository,
so everything that belongs to one account, one region or one moment is
replaced by a placeholder, and nothing that could sign a request is kept:

  account id -> {account}          region -> {region}
  RequestId, x-amzn-RequestId value -> {request-id} (the header itself: present or not)
  PrincipalId -> {principal-id}    UserInvitationUrl -> {invitation-url}
  timestamps -> {timestamp}        a user name (any value starting with the run's prefix) -> {user-1}, {user-2}, ...

Headers are not recorded at all (so no Authorization, X-Amz-Security-Token,
X-Amz-Date or cookie), and everything passes through the target's Redactor.
A user reference keeps the rest of the name after the prefix (the cassette's
"users" table, with {prefix} where the prefix comes again inside a name), so a
replay under a fresh prefix of the same length sends names of the same length
and characters: a name that broke a rule still breaks it.
"""
from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qsconform.conformance.redact import Redactor

SCHEMA_VERSION = 1
ACCOUNT, REGION, REQUEST_ID = "{account}", "{region}", "{request-id}"
PRINCIPAL_ID, INVITATION_URL, TIMESTAMP = "{principal-id}", "{invitation-url}", "{timestamp}"
PREFIX = "{prefix}"  # the run's prefix inside the rest of a user name (the users table)
USER_REFERENCE = re.compile(r"\{user-(\d+)\}")
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
# A server-made name found inside a text: the prefix, then what user names are made of (and '/' of role sessions).
_NAME_TAIL = r"[\w+=,.@/-]*"


class CassetteError(Exception):
    """A cassette file that is missing or malformed (the CLI exits 2 with this one-line message)."""


class UserNames:
    """User names <-> numbered references, consistent across a cassette or a replay.

    `suffixes` (reference -> the name without its prefix) is shared with the
    cassette, so a replay can rebuild every name under its own prefix.
    """

    def __init__(self, prefix: str, suffixes: dict[str, str] | None = None):
        if not prefix:
            raise ValueError("a user-name prefix is needed to recognise the run's users")
        self.prefix = prefix
        self.suffixes = suffixes if suffixes is not None else {}
        self.names: dict[str, str] = {}  # name -> reference
        self._by_suffix = {suffix: ref for ref, suffix in self.suffixes.items()}
        # the highest {user-N} number in use; `suffixes` changes only through this object
        self._last = max((int(m.group(1)) for r in self.suffixes if (m := USER_REFERENCE.fullmatch(r))), default=0)
        self._unknown = re.compile(re.escape(prefix) + _NAME_TAIL)
        self._known: re.Pattern | None = None

    def reference(self, name: str) -> str:
        """The reference of a name that starts with the prefix; a new one the first time."""
        if name not in self.names:
            # the prefix again inside a name (a role session "<prefix>role/<prefix>session") is kept as a token
            suffix = name[len(self.prefix):].replace(self.prefix, PREFIX)
            ref = self._by_suffix.get(suffix)
            if ref is None:
                ref = f"{{user-{self._next_number()}}}"
                self.suffixes[ref] = suffix
                self._by_suffix[suffix] = ref
            self.names[name] = ref
            self._known = None
        return self.names[name]

    def name(self, ref: str) -> str:
        """The name a reference stands for under this prefix (the replay side)."""
        if ref not in self.suffixes:
            raise CassetteError(f"the cassette uses {ref} but its users table does not define it")
        name = self.prefix + self.suffixes[ref].replace(PREFIX, self.prefix)
        if name not in self.names:
            self.names[name] = ref
            self._known = None
        return name

    def _next_number(self) -> int:
        self._last += 1
        return self._last

    def in_text(self, text: str) -> str:
        """`text` with every known name, then every other run of the prefix and name characters, replaced."""
        if self.prefix not in text:
            return text
        if self._known is None and self.names:
            alternatives = sorted(self.names, key=len, reverse=True)  # qsc-x-10 before qsc-x-1
            self._known = re.compile("|".join(map(re.escape, alternatives)))
        if self._known is not None:
            text = self._known.sub(lambda m: self.names[m.group(0)], text)
        return self._unknown.sub(lambda m: self.reference(m.group(0)), text)


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
        parsed = _json_or_missing(data)
        if parsed is not _MISSING:
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

    _PLACEHOLDER = re.compile(r"\{(?:account|region|user-\d+)\}")

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


# -- the cassette -------------------------------------------------------------------------

class Cassette:
    """The interactions of one run, in the order they happened.

    Recording: `Cassette.recording(path, target=..., prefix=...)`, append `.observe` to a
    Transport's observers, set `.rule_id` (or use `with cassette.judging(rule_id):`) while a
    rule is being judged, and `.save()` at the end, also after a failure.
    """

    def __init__(self, interactions: list[dict] | None = None, users: dict[str, str] | None = None,
                 prefix_length: int | None = None, path: Path | None = None, source: str | None = None):
        self.interactions = interactions if interactions is not None else []
        self.users = users if users is not None else {}  # reference -> the name after the prefix
        self.prefix_length, self.path, self.source = prefix_length, path, source
        self.rule_id: str | None = None
        self._normaliser: Normaliser | None = None
        self._lock = threading.Lock()

    @classmethod
    def recording(cls, path: str | os.PathLike, *, target, prefix: str) -> "Cassette":
        cassette = cls(path=Path(path), prefix_length=len(prefix), source=_target_kind(target))
        cassette._normaliser = Normaliser(target.account_id, target.region, UserNames(prefix, cassette.users),
                                          target.redactor)
        return cassette

    @contextmanager
    def judging(self, rule_id: str | None):
        before, self.rule_id = self.rule_id, rule_id
        try:
            yield self
        finally:
            self.rule_id = before

    def observe(self, sent) -> None:
        """A Transport observer: record one request and its final answer (a qsconform.conformance.transport.Sent)."""
        if self._normaliser is None:
            raise CassetteError("this cassette was loaded, not opened for recording")
        with self._lock:
            n = self._normaliser
            interaction = n.request(sent.operation, sent.path_params, sent.body, sent.query)
            interaction["rule_id"] = self.rule_id
            interaction["response"] = n.response(sent.response)
            self.interactions.append(interaction)

    def as_dict(self) -> dict:
        document = {"schema_version": SCHEMA_VERSION, "recorded_from": self.source,
                    "user_prefix_length": self.prefix_length, "users": dict(self.users),
                    "interactions": list(self.interactions)}
        redactor = self._normaliser.redactor if self._normaliser else Redactor()
        return redactor.redact(document)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the cassette (atomically: a reader never sees half a file)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise CassetteError("no path to save the cassette to")
        with self._lock:
            text = json.dumps(self.as_dict(), indent=1, ensure_ascii=True)  # ASCII: escaped odd bytes survive
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text + "\n", encoding="ascii")
        os.replace(tmp, target)
        return target


def _target_kind(target) -> str:
    """What recorded the cassette, without a host name: aws, moto, reference, or "url"."""
    return target.name if target.name in ("aws", "moto", "reference") else "url"


def load_cassette(path: str | os.PathLike) -> Cassette:
    """Read a cassette; CassetteError (one line) when it is missing or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CassetteError(f"cassette {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteError(f"cassette {path} cannot be read: {type(exc).__name__}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise CassetteError(f"cassette {path} is not JSON: line {getattr(exc, 'lineno', '?')}: "
                            f"{getattr(exc, 'msg', exc)}") from None
    problem = _malformed(document)
    if problem:
        raise CassetteError(f"cassette {path} is malformed: {problem}")
    return Cassette(interactions=document["interactions"], users=dict(document.get("users") or {}),
                    prefix_length=document.get("user_prefix_length"), path=path,
                    source=document.get("recorded_from"))


def _malformed(document: Any) -> str | None:
    if not isinstance(document, dict):
        return "not a JSON object"
    if document.get("schema_version") != SCHEMA_VERSION:
        return f"schema_version is {document.get('schema_version')!r}, expected {SCHEMA_VERSION}"
    users = document.get("users", {})
    if not isinstance(users, dict) or not all(USER_REFERENCE.fullmatch(k) and isinstance(v, str)
                                              for k, v in users.items()):
        return 'users must map "{user-N}" to the rest of the name'
    length = document.get("user_prefix_length")
    if length is not None and (not isinstance(length, int) or isinstance(length, bool) or length < 1):
        return "user_prefix_length must be a positive integer"
    interactions = document.get("interactions")
    if not isinstance(interactions, list):
        return "no interactions list"
    for i, it in enumerate(interactions):
        problem = _malformed_interaction(it) or _undefined_user(it, users)
        if problem:
            return f"interaction {i}: {problem}"
    return None


def _undefined_user(it: dict, users: dict) -> str | None:
    """A request naming a {user-N} the users table lacks could not be replayed."""
    sent = json.dumps([it["path_params"], it.get("query"), it.get("body"), it.get("raw_body")])
    for ref in sorted(set(USER_REFERENCE.findall(sent))):
        if f"{{user-{ref}}}" not in users:
            return f"{{user-{ref}}} is not in the users table"
    return None


def _malformed_interaction(it: Any) -> str | None:
    if not isinstance(it, dict):
        return "not an object"
    if not isinstance(it.get("operation"), str) or not it["operation"]:
        return "no operation"
    if not isinstance(it.get("path_params"), dict):
        return "path_params must be an object"
    if it.get("query") is not None and not isinstance(it["query"], dict):
        return "query must be an object or null"
    if ("body" in it) == ("raw_body" in it):
        return "needs exactly one of body and raw_body"
    if "raw_body" in it and not isinstance(it["raw_body"], str):
        return "raw_body must be text"
    if it.get("rule_id") is not None and not isinstance(it["rule_id"], str):
        return "rule_id must be text or null"
    response = it.get("response")
    if not isinstance(response, dict):
        return "no response"
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return "response.status must be an HTTP status"
    if response.get("body_kind") not in ("json", "text", "empty"):
        return "response.body_kind must be json, text or empty"
    for key in ("error_type", "content_type"):
        if response.get(key) is not None and not isinstance(response[key], str):
            return f"response.{key} must be text or null"
    if not isinstance(response.get("request_id_header"), bool):
        return "response.request_id_header must be true or false"
    return None


# -- JSON helpers ---------------------------------------------------------------------------

_MISSING = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


def _json_or_missing(data: bytes) -> Any:
    if not data:
        return _MISSING
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _MISSING


def _encode(value: Any, ascii_json: bool) -> bytes:
    """JSON as qsconform.spec.request.Request.body_bytes and Transport.call write it."""
    return json.dumps(value, ensure_ascii=ascii_json, separators=(",", ":")).encode("utf-8", "surrogateescape")

