"""Reading a cassette file: JSON checked against cassette.schema.json, then the user references it names.

Every problem is one line naming the file and what is wrong (the CLI exits 2 with it).
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import jsonschema

from qsconform.conformance.cassette.format import SCHEMA_VERSION, USER_REFERENCE, CassetteError
from qsconform.conformance.cassette.record import Cassette
from qsconform.conformance.judging import schema_errors

SCHEMA_FILE = Path(__file__).with_name("cassette.schema.json")


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


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
    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    problem = _describe(error) if error is not None else _undefined_user(document)
    if problem:
        raise CassetteError(f"cassette {path} is malformed: {problem}")
    length = document.get("user_prefix_length")
    cassette = Cassette(interactions=document["interactions"], users=dict(document.get("users", {})),
                        # JSON Schema counts 13.0 as an integer; a prefix is made of a whole number of characters
                        prefix_length=int(length) if length is not None else None, path=path,
                        source=document.get("recorded_from"))
    cassette.region, cassette.recorded_at = document.get("region"), document.get("recorded_at")
    return cassette


def _undefined_user(document: dict) -> str | None:
    """A request naming a {user-N} the users table lacks could not be replayed (a reference a schema cannot follow)."""
    users = document.get("users") or {}
    for i, it in enumerate(document["interactions"]):
        sent = json.dumps([it["path_params"], it.get("query"), it.get("body"), it.get("raw_body")])
        for ref in sorted(set(USER_REFERENCE.findall(sent)), key=int):
            if f"{{user-{ref}}}" not in users:
                return f"interactions[{i}]: {{user-{ref}}} is not in the users table"
    return None


def _describe(error: jsonschema.ValidationError) -> str:
    """A schema error in a few words (conformance/judging/schema_errors.py), a cassette's own cases first."""
    place = schema_errors.where(error)
    if not place and error.validator == "type":
        return "not a JSON object"
    if place == "schema_version" and error.validator == "const":
        return f"schema_version is {error.instance!r}, expected {SCHEMA_VERSION}"
    return schema_errors.describe(error)
