"""Request validation of the reference server: deserialise, then check members, then cross-field rules.

The members and their constraints (types, required, lengths, patterns,
enums, list sizes) are the spec's data, which copy the pages' tables. How
they are checked is this module's own reading, written without the suite's
oracle: lengths in code points, a pattern matched against the whole value
with an ASCII \\w (as Java reads the model's patterns), null taken as absent.

Like a Coral service, a member of the wrong JSON type is refused before
anything is validated (400 SerializationException, or the variant's
deserialisation error); a broken constraint
gives the variant's constraint error; a broken cross-field rule gives
InvalidParameterValueException (observed #7, #8). Every check has an id
("RegisterUser.UserRole.enum", "RegisterUser.iam-requires-iamarn"), so that a
fault can switch it off.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from qsconform.conformance.reference import crossfield
from qsconform.conformance.reference.replies import ApiError
from qsconform.spec.model import Member, Spec

SERIALIZATION = "SerializationException"
CROSS_FIELD_ERROR = "InvalidParameterValueException"
# Operations the spec does not describe take their URI labels' constraints from one it does (same shapes).
LABELS_LIKE = {"DescribeUser": "UpdateUser", "DeleteUser": "UpdateUser", "ListUsers": "RegisterUser"}


@dataclass(frozen=True)
class Checker:
    operation: str
    uri_members: tuple[Member, ...]
    body_members: tuple[Member, ...]
    cross: tuple[tuple[str, crossfield.Check], ...]


def checker_for(spec: Spec, operation: str) -> Checker:
    """What validating a request of an operation checks, from the spec's members and the cross-field checks."""
    if operation in spec.operations:
        op = spec[operation]
        return Checker(operation, tuple(op.uri_members), tuple(op.body_members),
                       tuple(crossfield.CHECKS.get(operation, ())))
    return Checker(operation, tuple(spec[LABELS_LIKE[operation]].uri_members), (), ())


def validate(checker: Checker, labels: dict[str, str], body: Any, *, constraint_error: str,
             skips: frozenset[str] = frozenset(), deserialisation_error: str = SERIALIZATION,
             refusal_errors: dict[str, str] | None = None) -> None:
    """Raise ApiError for the first thing wrong with a request; return when it is valid."""
    operation = checker.operation
    if checker.body_members:
        if not isinstance(body, dict):
            raise ApiError(deserialisation_error, "The request body must be a JSON object.")
        for m in checker.body_members:
            _check_type(operation, m, body.get(m.name), skips, deserialisation_error)
    for m in checker.uri_members:
        _check_constraints(operation, m, labels.get(m.name), constraint_error, skips)
    for m in checker.body_members:
        _check_constraints(operation, m, body.get(m.name), constraint_error, skips)
    for check_id, check in checker.cross:
        why = None if check_id in skips else check(body)
        if why:
            raise ApiError((refusal_errors or {}).get(check_id, CROSS_FIELD_ERROR), why)


def _is_json_type(member_type: str, value: Any) -> bool:
    if member_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    # A number or boolean for a string is refused too: this server does not coerce scalars.
    return isinstance(value, {"string": str, "boolean": bool, "list": list, "structure": dict}[member_type])


def _check_type(op: str, m: Member, value: Any, skips: frozenset[str], error: str = SERIALIZATION) -> None:
    if value is None:
        return
    if f"{op}.{m.path}.type" not in skips and not _is_json_type(m.type, value):
        raise ApiError(error, f"Cannot deserialise {m.path}: expected a JSON {m.type}, got {type(value).__name__}.")
    if m.item is not None and isinstance(value, list):
        for item in value:
            if item is None:
                raise ApiError(error, f"Cannot deserialise {m.path}: null list item.")
            _check_type(op, m.item, item, skips, error)
    if m.members and isinstance(value, dict):
        for sub in m.members:
            _check_type(op, sub, value.get(sub.name), skips, error)


@lru_cache(maxsize=None)
def _whole(pattern: str) -> re.Pattern:
    """A model pattern matched against the whole value, whether or not it is written anchored."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    body = body[:-1] if body.endswith("$") and not body.endswith("\\$") else body
    return re.compile(body, re.ASCII)


def _broken(m: Member, value: Any) -> list[tuple[str, str]]:
    """(constraint, why) for every constraint the value breaks."""
    c, out = m.constraints, []
    if isinstance(value, str):
        if "min_length" in c and len(value) < c["min_length"]:
            out.append(("min_length", f"Member must have length greater than or equal to {c['min_length']}"))
        if "max_length" in c and len(value) > c["max_length"]:
            out.append(("max_length", f"Member must have length less than or equal to {c['max_length']}"))
        if "pattern" in c and not _whole(c["pattern"]).fullmatch(value):
            out.append(("pattern", f"Member must satisfy regular expression pattern: {c['pattern']}"))
        if "enum" in c and value not in c["enum"]:
            out.append(("enum", f"Member must satisfy enum value set: [{', '.join(c['enum'])}]"))
    if isinstance(value, list):
        if "min_items" in c and len(value) < c["min_items"]:
            out.append(("min_items", f"Member must have at least {c['min_items']} items"))
        if "max_items" in c and len(value) > c["max_items"]:
            out.append(("max_items", f"Member must have at most {c['max_items']} items"))
    return out


def _check_constraints(op: str, m: Member, value: Any, error: str, skips: frozenset[str]) -> None:
    def refuse(constraint: str, why: str) -> None:
        if f"{op}.{m.path}.{constraint}" not in skips:
            shown = "null" if value is None else repr(value)[:100]
            raise ApiError(error, f"1 validation error detected: Value {shown} at '{m.path}' "
                                  f"failed to satisfy constraint: {why}")

    if value is None:
        if m.required:
            refuse("required", "Member must not be null")
        return
    for constraint, why in _broken(m, value):
        refuse(constraint, why)
    if m.item is not None and isinstance(value, list):
        for item in value:
            _check_constraints(op, m.item, item, error, skips)
    if m.members and isinstance(value, dict):
        for sub in m.members:
            _check_constraints(op, sub, value.get(sub.name), error, skips)
