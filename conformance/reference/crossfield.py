"""Cross-field rules of the reference server, written by hand from the pages and the observations.

Deliberately not read from spec/ rules: the reference proves the suite's
verdicts, so a mistake in the spec's rules or the oracle must not reappear
here. Each check is named like the spec rule it enforces (a fault switches
checks off by name) and returns why the request is refused, or None.

Where the sources leave the answer open (a SessionName with an IAM user, a
role ARN without SessionName, RESTRICTED_* roles, duplicate tag keys...) this
server refuses by default: the suite sends none of those cases as valid or
invalid until an observation settles them. These checks are marked `unknown`
(UNKNOWN_FATE): the variant option unknown_fate makes the server refuse them
with another error type, or accept them, to play a real API whose answer a
probe records (conformance/tools/probe.py).
"""
from __future__ import annotations

from collections.abc import Callable

from qsconform.conformance.reference.identities import parse_iam_arn

Check = Callable[[dict], "str | None"]
CHECKS: dict[str, list[tuple[str, Check]]] = {"RegisterUser": [], "UpdateUser": []}
UNKNOWN_FATE: set[str] = set()  # check ids whose answer no source gives
RESTRICTED_ROLES = ("RESTRICTED_READER", "RESTRICTED_AUTHOR")


def cross(*operations: str, unknown: bool = False) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        for op in operations:
            check_id = f"{op}.{fn.__name__.replace('_', '-')}"
            CHECKS[op].append((check_id, fn))
            if unknown:
                UNKNOWN_FATE.add(check_id)
        return fn
    return register


def given(body: dict, name: str) -> bool:
    return body.get(name) is not None


# -- the identity of a new user (RegisterUser page, Request Body; observed #7, #8) -----------------

@cross("RegisterUser")
def iam_requires_iamarn(body: dict) -> str | None:
    if body.get("IdentityType") == "IAM" and not given(body, "IamArn"):
        return "IamArn is required for the identity type IAM."
    return None


@cross("RegisterUser")
def iam_forbids_username(body: dict) -> str | None:
    if body.get("IdentityType") == "IAM" and given(body, "UserName"):
        return "The following parameters are not applicable to this identity type: User Name."
    return None


@cross("RegisterUser")
def quicksight_requires_username(body: dict) -> str | None:
    if body.get("IdentityType") in ("QUICKSIGHT", "IAM_IDENTITY_CENTER") and not given(body, "UserName"):
        return f"UserName is required for the identity type {body['IdentityType']}."
    return None


@cross("RegisterUser")
def iam_arn_format(body: dict) -> str | None:
    if body.get("IdentityType") == "IAM" and given(body, "IamArn") and parse_iam_arn(body["IamArn"]) is None:
        return "IamArn is not the ARN of an IAM user or role."
    return None


@cross("RegisterUser", unknown=True)
def iamarn_only_with_iam(body: dict) -> str | None:
    if given(body, "IamArn") and body.get("IdentityType") != "IAM":
        return "The following parameters are not applicable to this identity type: IamArn."
    return None


@cross("RegisterUser")
def sessionname_needs_iam(body: dict) -> str | None:
    if given(body, "SessionName") and body.get("IdentityType") != "IAM":
        return "The following parameters are not applicable to this identity type: Session Name."
    return None


@cross("RegisterUser", unknown=True)
def sessionname_only_for_roles(body: dict) -> str | None:
    identity = parse_iam_arn(body.get("IamArn"))
    if given(body, "SessionName") and identity is not None and identity.kind == "user":
        return "SessionName is only used with an IAM role."
    return None


@cross("RegisterUser", unknown=True)
def role_arn_needs_sessionname(body: dict) -> str | None:
    identity = parse_iam_arn(body.get("IamArn"))
    if identity is not None and identity.kind == "role" and not given(body, "SessionName"):
        return "SessionName is required to register a user of an IAM role."
    return None


# -- external login (both pages, ExternalLoginFederationProviderType and CustomFederationProviderUrl) ---

@cross("RegisterUser", "UpdateUser")
def custom_oidc_requires_url(body: dict) -> str | None:
    if body.get("ExternalLoginFederationProviderType") == "CUSTOM_OIDC" and not given(body, "CustomFederationProviderUrl"):
        return "CustomFederationProviderUrl is required with the provider type CUSTOM_OIDC."
    return None


@cross("RegisterUser", "UpdateUser")
def cognito_forbids_url(body: dict) -> str | None:
    if body.get("ExternalLoginFederationProviderType") == "COGNITO" and given(body, "CustomFederationProviderUrl"):
        return "CustomFederationProviderUrl is not used with the provider type COGNITO."
    return None


@cross("RegisterUser", "UpdateUser")
def url_requires_provider_type(body: dict) -> str | None:
    if given(body, "CustomFederationProviderUrl") and not given(body, "ExternalLoginFederationProviderType"):
        return "CustomFederationProviderUrl needs ExternalLoginFederationProviderType CUSTOM_OIDC."
    return None


@cross("UpdateUser", unknown=True)
def none_clears_external_login(body: dict) -> str | None:
    if body.get("ExternalLoginFederationProviderType") == "NONE" and (
            given(body, "CustomFederationProviderUrl") or given(body, "ExternalLoginId")):
        return "The provider type NONE clears the external login: send no provider URL or login id with it."
    return None


@cross("RegisterUser", "UpdateUser", unknown=True)
def external_login_id_needs_provider(body: dict) -> str | None:
    if given(body, "ExternalLoginId") and not given(body, "ExternalLoginFederationProviderType"):
        return "ExternalLoginId needs ExternalLoginFederationProviderType."
    return None


# -- roles, permissions, tags --------------------------------------------------------------------

@cross("RegisterUser", "UpdateUser", unknown=True)
def restricted_roles_unavailable(body: dict) -> str | None:
    role = body.get("UserRole", body.get("Role"))
    if role in RESTRICTED_ROLES:
        return f"The role {role} isn't currently available for use."
    return None


@cross("UpdateUser", unknown=True)
def unapply_only_true(body: dict) -> str | None:
    if body.get("UnapplyCustomPermissions") is False:
        return "UnapplyCustomPermissions accepts only true."
    return None


@cross("RegisterUser", unknown=True)
def tag_keys_unique(body: dict) -> str | None:
    keys = [t.get("Key") for t in body.get("Tags") or [] if isinstance(t, dict)]
    if len(keys) != len(set(keys)):
        return "Tag keys must be unique."
    return None


@cross("RegisterUser", unknown=True)
def tag_keys_not_aws(body: dict) -> str | None:
    if any(isinstance(t, dict) and str(t.get("Key", "")).startswith("aws:") for t in body.get("Tags") or []):
        return "Tag keys starting with aws: are reserved."
    return None


@cross("RegisterUser", "UpdateUser", unknown=True)
def email_nonempty(body: dict) -> str | None:
    if body.get("Email") == "":
        return "Email must not be empty."
    return None
