"""Who a registered user is: the user name, ARN, principal id and invitation URL of an identity.

Observed #1 and #2: an IAM user registers under its IAM user name, a role
session as <RoleName>/<SessionName>; the QuickSight ARN ends
user/<namespace>/<user name>.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

# An IAM user or role ARN: an optional path, then the name (IAM's name characters, ASCII \w).
_IAM_ARN = re.compile(r"arn:(aws[a-z-]*):iam::([0-9]{12}):(user|role)/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})",
                      re.ASCII)


@dataclass(frozen=True)
class IamIdentity:
    kind: str  # "user" | "role"
    name: str
    account: str


def parse_iam_arn(value: object) -> IamIdentity | None:
    """The IAM user or role an ARN names, or None when it is not an IAM user/role ARN."""
    match = _IAM_ARN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    _, account, kind, _, name = match.groups()
    return IamIdentity(kind=kind, name=name, account=account)


def user_name_for(body: dict) -> str | None:
    """The name a RegisterUser request gives its user: UserName, or for IAM the name in IamArn
    (with /<SessionName> for a role session). None when the request names no one."""
    if body.get("IdentityType") == "IAM":
        identity = parse_iam_arn(body.get("IamArn"))
        if identity is None:
            return None
        if identity.kind == "role" and isinstance(body.get("SessionName"), str):
            return f"{identity.name}/{body['SessionName']}"
        return identity.name
    name = body.get("UserName")
    return name if isinstance(name, str) else None


def name_in_arn(value: str) -> str:
    """The last part of an ARN-like string (after its last '/' or ':'), or the whole of it: the name a lenient
    server gives an IAM identity whose IamArn is no IAM user or role ARN (variant accept_any_iam_arn)."""
    last = value.replace(":", "/").rstrip("/").rsplit("/", 1)[-1]
    return last or value


def user_arn(region: str, account: str, namespace: str, user_name: str) -> str:
    return f"arn:aws:quicksight:{region}:{account}:user/{namespace}/{user_name}"


def principal_id(body: dict) -> str:
    """federated/iam/AIDA... for an IAM user, federated/iam/AROA...:<session> for a role session,
    federated/quicksight/... otherwise (observed #1, #2)."""
    unique = secrets.token_hex(8).upper()
    if body.get("IdentityType") == "IAM":
        identity = parse_iam_arn(body.get("IamArn"))
        if identity is not None and identity.kind == "role":
            return f"federated/iam/AROA{unique}:{body.get('SessionName')}"
        return f"federated/iam/AIDA{unique}"
    if body.get("IdentityType") == "IAM_IDENTITY_CENTER":
        return f"federated/iam-identity-center/{unique.lower()}"
    return f"federated/quicksight/{unique.lower()}"


def invitation_url(region: str, scheme: str = "https") -> str:
    """Where a QUICKSIGHT user completes registration (RegisterUser page, UserInvitationUrl)."""
    return f"{scheme}://{region}.quicksight.aws.amazon.com/sn/console/register?token={secrets.token_urlsafe(24)}"


def is_role_session(principal: str) -> bool:
    """Whether a principal id is an IAM role session's (federated/iam/AROA...:<session>)."""
    return principal.startswith("federated/iam/AROA")
