"""What tells two normalised answers apart: status, error type, content type, the request id header, and the
JSON body's shape (its paths and their types) and values."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("status", "error_type", "content_type", "missing_member", "extra_member", "type", "value")
# Paths of what is not in the body, so that an allowance can name them like members.
STATUS, ERROR_TYPE, CONTENT_TYPE, BODY = "$status", "$error_type", "$content_type", "$body"
REQUEST_ID_HEADER = "$header.x-amzn-RequestId"


@dataclass(frozen=True)
class Difference:
    kind: str  # one of KINDS
    path: str
    recorded: Any
    got: Any
    allowed: str | None = None  # the reason, when an allowance covers it

    def as_dict(self) -> dict:
        return {"kind": self.kind, "path": self.path, "recorded": self.recorded, "got": self.got,
                "allowed": self.allowed}

    def describe(self) -> str:
        what = {"missing_member": f"{self.path} missing (recorded {short_json(self.recorded)})",
                "extra_member": f"{self.path} extra ({short_json(self.got)})"}.get(
            self.kind, f"{self.kind} {self.path}: recorded {short_json(self.recorded)}, got {short_json(self.got)}")
        return what + (f" [allowed: {self.allowed}]" if self.allowed else "")


def short_json(value: Any, limit: int = 80) -> str:
    """A value as JSON, cut to `limit` characters (control characters show escaped)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(value: Any, path: str = "") -> dict[str, set[str]]:
    """Every JSON path of a value with the types found there; list items share the path `name[]`."""
    out: dict[str, set[str]] = {}

    def walk(v: Any, p: str) -> None:
        if p:
            out.setdefault(p, set()).add(json_type(v))
        if isinstance(v, dict):
            for k, item in v.items():
                walk(item, f"{p}.{k}" if p else str(k))
        elif isinstance(v, list):
            for item in v:
                walk(item, f"{p}[]")

    walk(value, path)
    return out


def differences(recorded: Mapping[str, Any], got: Mapping[str, Any]) -> list[Difference]:
    """What tells two normalised answers apart (cassette.Normaliser.response dicts)."""
    out = []
    for kind, path in (("status", STATUS), ("error_type", ERROR_TYPE), ("content_type", CONTENT_TYPE)):
        if recorded.get(kind) != got.get(kind):
            out.append(Difference(kind, path, recorded.get(kind), got.get(kind)))
    if recorded["request_id_header"] != got["request_id_header"]:
        kind = "missing_member" if recorded["request_id_header"] else "extra_member"
        out.append(Difference(kind, REQUEST_ID_HEADER, recorded["request_id_header"], got["request_id_header"]))
    r_kind, g_kind = recorded["body_kind"], got["body_kind"]
    if r_kind != g_kind or (r_kind == "json" and json_type(recorded["body"]) != json_type(got["body"])):
        out.append(Difference("type", BODY, _body_type(recorded), _body_type(got)))
        return out
    if r_kind == "text":
        if recorded["body"] != got["body"]:
            out.append(Difference("value", BODY, recorded["body"], got["body"]))
        return out
    if r_kind == "json":
        out += _shape_differences(recorded["body"], got["body"])
        out += _value_differences(recorded["body"], got["body"], "")
    return out


def _body_type(answer: Mapping[str, Any]) -> str:
    return json_type(answer["body"]) if answer["body_kind"] == "json" else answer["body_kind"]


def _under(path: str, parents: set[str]) -> bool:
    return any(path.startswith(p + ".") or path.startswith(p + "[") for p in parents)


def _shape_differences(recorded: Any, got: Any) -> list[Difference]:
    r, g = shape(recorded), shape(got)
    out: list[Difference] = []
    missing: set[str] = set()
    extra: set[str] = set()
    for path in sorted(r.keys() - g.keys()):
        if not _under(path, missing):  # report the member, not each of its parts
            missing.add(path)
            out.append(Difference("missing_member", path, sorted(r[path]), None))
    for path in sorted(g.keys() - r.keys()):
        if not _under(path, extra):
            extra.add(path)
            out.append(Difference("extra_member", path, None, sorted(g[path])))
    for path in sorted(r.keys() & g.keys()):
        if r[path] != g[path]:
            out.append(Difference("type", path, sorted(r[path]), sorted(g[path])))
    return out


def _value_differences(recorded: Any, got: Any, path: str) -> list[Difference]:
    """Values that differ where both sides have a value of the same type (shape covers the rest)."""
    if json_type(recorded) != json_type(got):
        return []
    if isinstance(recorded, dict):
        out = []
        for key in recorded.keys() & got.keys():
            out += _value_differences(recorded[key], got[key], f"{path}.{key}" if path else key)
        return sorted(out, key=lambda d: d.path)
    if isinstance(recorded, list):
        if len(recorded) != len(got):
            return [Difference("value", path, recorded, got)]
        out = []
        for i, (a, b) in enumerate(zip(recorded, got)):
            out += _value_differences(a, b, f"{path}[{i}]")
        return out
    return [] if recorded == got else [Difference("value", path or BODY, recorded, got)]


def few_names(names: list[str], at_most: int = 5) -> str:
    """A few names, quoted so that control characters show escaped, and how many more."""
    shown = ", ".join(short_json(n) for n in names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


def first_difference(group: Mapping) -> Mapping | None:
    """What a group's answers differ in first: of the most telling kind (status, then error type...), the most
    frequent; None when nothing unallowed differs."""
    shown = [d for d in group["differences"] if not d["allowed"]]
    if not shown:
        return None
    kind = min(shown, key=lambda d: KINDS.index(d["kind"]))["kind"]
    return max((d for d in shown if d["kind"] == kind), key=lambda d: d["count"])
