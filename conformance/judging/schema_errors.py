"""A JSON Schema error in one line, for the files a user hands qsconform (baselines, cassettes): where
(a path such as interactions[3].response.status) and what is wrong, never the whole offending value."""
from __future__ import annotations

import json
from typing import Any

import jsonschema


def where(error: jsonschema.ValidationError) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")


def describe(error: jsonschema.ValidationError) -> str:
    # Both are set on every error a validator raises (jsonschema types them "or unset" for hand-made ones).
    value: Any = error.validator_value
    instance: Any = error.instance
    if error.validator == "required":
        what = "missing " + ", ".join(repr(k) for k in value if k not in instance)
    elif error.validator == "type":
        expected = " or ".join(value) if isinstance(value, list) else value
        what = f"must be {expected}, not {json_type(instance)}"
    elif error.validator == "enum":
        what = "must be one of " + ", ".join(json.dumps(v) for v in value)
    elif error.validator == "oneOf" and all(list(s) == ["required"] for s in value):
        what = "needs exactly one of " + " and ".join(k for s in value for k in s["required"])
    elif error.validator == "pattern" and "propertyNames" in error.schema_path:
        what = f"key {instance!r} does not match {value}"
    else:
        what = " ".join(error.message.split())
        if len(what) > 120:
            what = what[:119] + "…"
    place = where(error)
    return f"{place}: {what}" if place else what


def json_type(value: Any) -> str:
    for name, kind in (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float),
                       ("string", str), ("array", list), ("object", dict)):
        if isinstance(value, kind):
            return name
    return type(value).__name__
