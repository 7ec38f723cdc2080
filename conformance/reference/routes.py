"""Which operation a request is: method and path matched against the model's HTTP bindings.

The path is split on '/' as sent and only then is each segment
percent-decoded (once), so a user name holding '/' (sent as %2F) stays one
label. The bindings are botocore's QuickSight model, the same ones the SDKs use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from qsconform.conformance.reference.replies import ApiError
from qsconform.spec.service import http_binding

OPERATIONS = ("RegisterUser", "UpdateUser", "DescribeUser", "DeleteUser", "ListUsers")
_LABEL = re.compile(r"^\{(\w+)\}$")


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    parts: tuple[str, ...]  # literal segments, or "{Label}"


@lru_cache(maxsize=None)
def routes() -> tuple[Route, ...]:
    bindings = [http_binding(name) for name in OPERATIONS]
    return tuple(Route(b.operation, b.method, tuple(b.path.split("/")[1:])) for b in bindings)


def split_path(raw_path: str) -> list[str]:
    """The segments of a raw path (latin-1 text, one character per byte), each percent-decoded once as UTF-8."""
    segments = []
    for segment in raw_path.split("/")[1:]:
        try:
            segments.append(unquote_to_bytes(segment.encode("latin-1", "replace")).decode("utf-8"))
        except UnicodeDecodeError:
            raise ApiError("InvalidParameterValueException", "A path segment is not UTF-8 once decoded.") from None
    return segments


def match(method: str, segments: list[str]) -> tuple[str, dict[str, str]] | None:
    """(operation, labels) of the route the request takes, or None."""
    for route in routes():
        if route.method != method or len(route.parts) != len(segments):
            continue
        labels = {}
        for part, segment in zip(route.parts, segments):
            label = _LABEL.match(part)
            if label is None and part != segment:
                break
            if label is not None:
                if not segment:
                    break
                labels[label.group(1)] = segment
        else:
            return route.operation, labels
    return None
