"""Allowances: differences some faithful servers are entitled to make, by path and kind, each with its reason.

DEFAULT_ALLOWANCES always apply; an allowance file adds to them (`--allow FILE`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qsconform.conformance.compare.diff import BODY, KINDS, Difference


class CompareError(Exception):
    """Bad input to a comparison, such as a malformed allowance file (the CLI exits 2)."""


@dataclass(frozen=True)
class Allowance:
    """A difference some faithful servers make: at `path` (`*` matches anything, list indexes are ignored),
    of the given kinds (all when empty), for one operation or all."""

    path: str
    reason: str
    kinds: frozenset[str] = frozenset()
    operation: str | None = None

    def covers(self, diff: Difference, operation: str) -> bool:
        if self.operation is not None and self.operation != operation:
            return False
        if self.kinds and diff.kind not in self.kinds:
            return False
        pattern = ".*".join(re.escape(part) for part in self.path.split("*"))
        return re.fullmatch(pattern, re.sub(r"\[\d+\]", "[]", diff.path)) is not None


_WORDING = ("error messages are worded by each server and change over time (observed #7); "
            "clients match on error type")
DEFAULT_ALLOWANCES: tuple[Allowance, ...] = (
    Allowance("Message", _WORDING, frozenset({"value"})),
    Allowance("message", _WORDING, frozenset({"value"})),
    Allowance(BODY, "the text of a non-JSON page (an HTML error page) is the server's own; its content type "
                    "and status are compared", frozenset({"value"})),
)
# RequestId, PrincipalId, UserInvitationUrl, timestamps, account and region need no allowance:
# the cassette normalises them to placeholders on both sides, so only their presence and type are compared.


def load_allowances(path: str | Path) -> list[Allowance]:
    """An allowance file: a JSON list of {"path", "reason", "kinds"?, "operation"?}.

    CompareError (one line) when it is missing or malformed."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompareError(f"allowance file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise CompareError(f"allowance file {path} is not readable JSON: {type(exc).__name__}") from None
    if not isinstance(document, list):
        raise CompareError(f"allowance file {path} must hold a JSON list")
    out = []
    for i, item in enumerate(document):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]:
            raise CompareError(f"allowance file {path}: entry {i} needs a path")
        if not isinstance(item.get("reason"), str) or not item["reason"].strip():
            raise CompareError(f"allowance file {path}: entry {i} ({item['path']}) needs a reason")
        kinds = item.get("kinds", [])
        if not isinstance(kinds, list) or not set(kinds) <= set(KINDS):
            raise CompareError(f"allowance file {path}: entry {i}: kinds must be a list of {', '.join(KINDS)}")
        operation = item.get("operation")
        if operation is not None and not isinstance(operation, str):
            raise CompareError(f"allowance file {path}: entry {i}: operation must be text")
        out.append(Allowance(item["path"], item["reason"].strip(), frozenset(kinds), operation))
    return out


def judge(diffs: Iterable[Difference], operation: str, allowances: Iterable[Allowance]) -> list[Difference]:
    """The differences with the reason of the first allowance that covers each."""
    allowances = list(allowances)
    out = []
    for d in diffs:
        reason = next((a.reason for a in allowances if a.covers(d, operation)), None)
        out.append(Difference(d.kind, d.path, d.recorded, d.got, reason) if reason else d)
    return out
