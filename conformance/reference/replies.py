"""Answers as restJson1 writes them: errors with their type, status and members; success bodies with RequestId.

Error statuses come from the spec's error catalog (the model's and the
pages' statuses); how the type is spelt and which extra members a body
carries is the variant's choice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from qsconform.conformance.reference.variants import Variant
from qsconform.spec.model import ErrorType

JSON = "application/json"
REQUEST_ID_HEADER = "x-amzn-RequestId"
ERROR_TYPE_HEADER = "X-Amzn-ErrorType"
# Errors outside the spec's catalog, with their status: ListUsers' (model), and the deserialisation
# error of the lenient variant deserialisation_error=BadRequestException.
EXTRA_STATUSES = {"InvalidNextTokenException": 400, "BadRequestException": 400}


class ApiError(Exception):
    """A refusal: error type, message, and ResourceType where the model's error shape has one; its status is the
    error catalog's unless given."""

    def __init__(self, error_type: str, message: str, *, resource_type: str | None = None,
                 status: int | None = None):
        super().__init__(f"{error_type}: {message}")
        self.error_type, self.message, self.resource_type = error_type, message, resource_type
        self.status = status


def status_of(error_type: str, catalog: Mapping[str, ErrorType]) -> int:
    if error_type in catalog:
        return catalog[error_type].status[0]
    return EXTRA_STATUSES[error_type]


@dataclass(frozen=True)
class Reply:
    """One answer before it is written: a body that is a dict becomes JSON, bytes go out as they are."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | bytes = b""

    def with_body(self, body: dict | bytes) -> "Reply":
        return replace(self, body=body)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        try:
            return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate read from a \ud800 escape: keep it escaped
            return json.dumps(self.body, separators=(",", ":")).encode("ascii")


def _changed(headers: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    out = {k: v for k, v in headers.items() if k.lower() not in {c.lower() for c in changes}}
    out.update({k: v for k, v in changes.items() if v is not None})
    return out


def set_headers(reply: Reply, changes: dict[str, str | None]) -> Reply:
    """The reply with headers set (None removes one), names compared without case."""
    return replace(reply, headers=_changed(reply.headers, changes))


def success_reply(status: int, body: dict, request_id: str, variant: Variant) -> Reply:
    body = {**body, "RequestId": request_id}
    if variant.status_in_body:
        body["Status"] = status
    if variant.extra_members:
        body["X-Future"] = 1
        if isinstance(body.get("User"), dict):
            body["User"] = {**body["User"], "FutureField": "added by a later API version"}
    return Reply(status, _headers(request_id, variant), body)


def _headers(request_id: str, variant: Variant) -> dict[str, str]:
    headers = {"Content-Type": JSON}
    if variant.request_id_header:
        headers[REQUEST_ID_HEADER] = request_id
    return headers


def error_reply(error: ApiError, request_id: str, variant: Variant, catalog: Mapping[str, ErrorType]) -> Reply:
    body: dict[str, Any] = {"Message": error.message, "RequestId": request_id}
    if error.resource_type is not None:
        body["ResourceType"] = error.resource_type
    if variant.error_in_body:
        body["__type"] = variant.spell_error_type(error.error_type)
    if variant.extra_members:
        body["X-Future"] = 1
    headers = _headers(request_id, variant)
    if variant.error_header:
        headers[ERROR_TYPE_HEADER] = variant.spell_error_type(error.error_type)
    return Reply(error.status if error.status is not None else status_of(error.error_type, catalog), headers, body)
