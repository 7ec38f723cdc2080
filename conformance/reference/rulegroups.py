"""Rule ids of the invalid requests the suite sends, grouped by how the suite judges a refusal of them.

A fault that changes how refusals are answered breaks a whole group; a
lenient variant that answers them otherwise makes a group advisory. The
suite judges the error type of a refusal only as strongly as the sources
back it: a wrong 4xx answer fails a rule whose answers were seen (INVALID:
InvalidParameterValueException, observed #7, #8) and is advisory for a rule
or an answer that is only inferred (INFERRED: SHOULD rules; UNDESERIALISABLE:
SerializationException, a SHOULD outcome; UNSETTLED: MUST rules whose
refusal's type nothing published shows: every member constraint,
CustomPermissionsName's (whose violations also meet a case no source settles:
no profile is configured), UpdateUser's UserName label (which may be answered
as not found), a QUICKSIGHT identity without UserName). A 5xx answer or an
acceptance fails them all but the SHOULD rules, which stay advisory.

Plain data, by operation; the ids are the spec's (load_spec().rules).
"""
from __future__ import annotations


def _ids(operation: str, *rules: str) -> tuple[str, ...]:
    return tuple(f"{operation}.{rule}" for rule in rules)


INVALID = {
    "RegisterUser": _ids("RegisterUser", "iam-requires-iamarn", "iam-forbids-username"),
    "UpdateUser": (),
}
INFERRED = {
    "RegisterUser": _ids("RegisterUser", "ExternalLoginFederationProviderType.enum", "iam-arn-format",
                         "sessionname-needs-iam", "custom-oidc-requires-url", "cognito-forbids-url",
                         "url-requires-provider-type"),
    "UpdateUser": _ids("UpdateUser", "ExternalLoginFederationProviderType.enum", "custom-oidc-requires-url",
                       "cognito-forbids-url", "url-requires-provider-type"),
}
UNDESERIALISABLE = {
    "RegisterUser": _ids("RegisterUser", "Email.type", "IdentityType.type", "UserRole.type", "IamArn.type",
                         "SessionName.type", "UserName.type", "CustomPermissionsName.type",
                         "ExternalLoginFederationProviderType.type", "CustomFederationProviderUrl.type",
                         "ExternalLoginId.type", "Tags.type", "Tags[].type", "Tags[].Key.type", "Tags[].Value.type",
                         "protocol.body-not-json", "protocol.body-not-object"),
    "UpdateUser": _ids("UpdateUser", "Email.type", "Role.type", "CustomPermissionsName.type",
                       "UnapplyCustomPermissions.type", "ExternalLoginFederationProviderType.type",
                       "CustomFederationProviderUrl.type", "ExternalLoginId.type", "protocol.body-not-json",
                       "protocol.body-not-object"),
}
UNSETTLED = {
    "RegisterUser": _ids("RegisterUser", "AwsAccountId.min_length", "AwsAccountId.max_length", "AwsAccountId.pattern",
                         "Namespace.max_length", "Namespace.pattern", "Email.required", "IdentityType.required",
                         "IdentityType.enum", "UserRole.required", "UserRole.enum", "SessionName.min_length",
                         "SessionName.max_length", "UserName.min_length", "UserName.pattern", "Tags.min_items",
                         "Tags.max_items", "Tags[].Key.required", "Tags[].Key.min_length", "Tags[].Key.max_length",
                         "Tags[].Value.required", "Tags[].Value.min_length", "Tags[].Value.max_length",
                         "quicksight-requires-username", "CustomPermissionsName.min_length",
                         "CustomPermissionsName.max_length", "CustomPermissionsName.pattern"),
    "UpdateUser": _ids("UpdateUser", "AwsAccountId.min_length", "AwsAccountId.max_length", "AwsAccountId.pattern",
                       "Namespace.max_length", "Namespace.pattern", "Email.required", "Role.required", "Role.enum",
                       "CustomPermissionsName.min_length", "CustomPermissionsName.max_length",
                       "CustomPermissionsName.pattern", "UserName.pattern"),
}
