"""What each operation does with a valid request: the user store and the success body.

A handler gets the request (a Call, already validated) and the store, and
returns (status, body). Refusals are ApiErrors. Statuses: RegisterUser 201
(observed #1), the others 200.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from qsconform.conformance.reference.identities import (invitation_url, is_role_session, name_in_arn, parse_iam_arn,
                                                        principal_id, user_arn, user_name_for)
from qsconform.conformance.reference.replies import ApiError
from qsconform.conformance.reference.store import Store, User, UserExists, UserNotFound
from qsconform.conformance.reference.variants import Variant
from qsconform.spec.model import ErrorType

COGNITO_URL = "cognito-identity.amazonaws.com"  # both pages: "The provider URL is cognito-identity.amazonaws.com"
EXTERNAL_LOGIN = ("ExternalLoginFederationProviderType", "CustomFederationProviderUrl", "ExternalLoginId")
MAX_RESULTS = 100  # model shape MaxResults: 1..100


@dataclass
class Call:
    """One request as it goes through the server; filled in as it is routed, read and refused or answered."""

    method: str
    raw_path: str  # as sent, still percent-encoded, without the query
    raw_body: bytes
    request_id: str
    region: str
    variant: Variant
    catalog: Mapping[str, ErrorType]  # the spec's error types: the statuses of refusals
    query: dict[str, str] = field(default_factory=dict)
    operation: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: ApiError | None = None

    @property
    def account(self) -> str:
        return self.labels["AwsAccountId"]

    @property
    def namespace(self) -> str:
        return self.labels["Namespace"]


def _namespace_exists(call: Call, store: Store) -> None:
    # observed #11: a namespace that does not exist is 404 ResourceNotFoundException
    if not store.namespace_exists(call.account, call.namespace):
        raise ApiError("ResourceNotFoundException",
                       f"Namespace {call.namespace} not found in account {call.account}. "
                       f"AWS account ID: {call.account}, Namespace: {call.namespace}.", resource_type="NAMESPACE")


def existence_first(call: Call, store: Store) -> None:
    """Variant existence_first: the account and the namespace the path names are looked up before the request's
    members are validated. Any well-formed account is the caller's here; a malformed one is not."""
    account = call.labels.get("AwsAccountId", "")
    if not re.fullmatch(r"[0-9]{12}", account):
        if call.variant.existence_first == "not-found":
            raise ApiError("ResourceNotFoundException",
                           f"Account {account} is not signed up with QuickSight with namespace {call.namespace}.")
        raise ApiError("AccessDeniedException", "You don't have access to this item. The provided credentials couldn't "
                       "be validated.", status=400 if call.variant.existence_first == "access-denied-400" else None)
    _namespace_exists(call, store)


def _existing(call: Call, store: Store, name: str) -> User:
    _namespace_exists(call, store)
    try:
        return store.get(call.account, call.namespace, name)
    except UserNotFound:
        raise ApiError("ResourceNotFoundException", f"The user {name} does not exist in namespace "
                       f"{call.namespace}. AWS account ID: {call.account}, Namespace: {call.namespace}.",
                       resource_type="USER") from None


def _external_login(body: dict) -> dict:
    """The external login fields after a request: NONE clears them, an absent type keeps them."""
    kind = body.get("ExternalLoginFederationProviderType")
    if kind is None:
        return {}
    if kind == "NONE":
        return {"external_login_type": None, "external_login_url": None, "external_login_id": None}
    url = COGNITO_URL if kind == "COGNITO" else body.get("CustomFederationProviderUrl")
    return {"external_login_type": kind, "external_login_url": url, "external_login_id": body.get("ExternalLoginId")}


def _refuse_external_login_without_role(call: Call, role_session: bool) -> None:
    """Variant refuse_external_login_without_role: the pages tie an external login to an IAM role."""
    if call.variant.refuse_external_login_without_role and not role_session and any(
            call.body.get(m) is not None for m in EXTERNAL_LOGIN):
        raise ApiError("InvalidParameterValueException", "External login is only available to users of an "
                       f"IAM role. AWS account ID: {call.account}, Namespace: {call.namespace}.")


def _name_of(call: Call, pid: str) -> str:
    body = call.body
    name = user_name_for(body)
    if name is None and call.variant.accept_any_iam_arn and isinstance(body.get("IamArn"), str):
        name = name_in_arn(body["IamArn"])  # an IamArn that is no IAM ARN, accepted: named after its last part
    # A name is missing only when a fault has switched off the rule that requires one.
    return name or pid.rsplit("/", 1)[-1]


def register_user(call: Call, store: Store) -> tuple[int, dict]:
    body = call.body
    _namespace_exists(call, store)
    identity = parse_iam_arn(body.get("IamArn")) if body.get("IdentityType") == "IAM" else None
    _refuse_external_login_without_role(call, identity is not None and identity.kind == "role")
    pid = principal_id(body)
    name = _name_of(call, pid)
    user = User(account=call.account, namespace=call.namespace, user_name=name,
                arn=user_arn(call.region, call.account, call.namespace, name), email=body.get("Email"),
                role=body.get("UserRole"), identity_type=body.get("IdentityType"), principal_id=pid,
                custom_permissions_name=body.get("CustomPermissionsName"),
                tags=tuple((t["Key"], t["Value"]) for t in body.get("Tags") or []), **_external_login(body))
    try:
        user = store.add(user)
    except UserExists:
        raise ApiError("ResourceExistsException", f"The user {name} already exists in namespace {call.namespace}.",
                       resource_type="USER") from None
    out: dict[str, Any] = {"User": user.view()}
    if user.identity_type == "QUICKSIGHT":
        out["UserInvitationUrl"] = invitation_url(call.region, call.variant.invitation_url_scheme)
    return 201, out


def update_user(call: Call, store: Store) -> tuple[int, dict]:
    body = call.body
    user = _existing(call, store, call.labels["UserName"])
    _refuse_external_login_without_role(call, is_role_session(user.principal_id))
    changes: dict[str, Any] = {"email": body.get("Email", user.email), "role": body.get("Role", user.role),
                               **_external_login(body)}
    if body.get("CustomPermissionsName") is not None:
        changes["custom_permissions_name"] = body["CustomPermissionsName"]
    if body.get("UnapplyCustomPermissions") is True:
        changes["custom_permissions_name"] = None
    updated = store.replace(user.changed(**changes))
    if call.variant.describe_lags:
        store.lag(user)
    shown = (user if call.variant.update_answers_previous_user else updated).view()
    if call.variant.update_omits_principal_id:
        del shown["PrincipalId"]
    return 200, {"User": shown}


def describe_user(call: Call, store: Store) -> tuple[int, dict]:
    user = _existing(call, store, call.labels["UserName"])
    if call.variant.describe_lags:
        user = store.read_lagging(call.account, call.namespace, user.user_name)
    return 200, {"User": user.view()}


def delete_user(call: Call, store: Store) -> tuple[int, dict]:
    _existing(call, store, call.labels["UserName"])
    try:
        store.delete(call.account, call.namespace, call.labels["UserName"])
    except UserNotFound:  # deleted by a concurrent request in between
        pass
    return 200, {}


def list_users(call: Call, store: Store) -> tuple[int, dict]:
    _namespace_exists(call, store)
    size = _max_results(call)
    start = _offset(call.query.get("next-token"))
    users = store.list(call.account, call.namespace)
    out: dict[str, Any] = {"UserList": [u.view() for u in users[start:start + size]]}
    if start + size < len(users):
        out["NextToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
    return 200, out


def _max_results(call: Call) -> int:
    value = call.query.get("max-results")
    if value is None:
        return MAX_RESULTS
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_RESULTS:
        raise ApiError(call.variant.constraint_error, f"MaxResults must be between 1 and {MAX_RESULTS}.")
    return int(value)


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and number.isascii() and number.isdigit():
            return int(number)
    except ValueError:
        pass
    raise ApiError("InvalidNextTokenException", "The NextToken is not one this server gave.")


HANDLERS = {"RegisterUser": register_user, "UpdateUser": update_user, "DescribeUser": describe_user,
            "DeleteUser": delete_user, "ListUsers": list_users}
