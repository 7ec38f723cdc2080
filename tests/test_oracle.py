"""The oracle classifies requests as valid, invalid (with the rules broken) or ambiguous."""
import jsonschema
import pytest

from qsconform.spec.oracle import OracleConfig, Validator, contract_schema, oracle_for
from qsconform.spec.loader import default_spec

SPEC = default_spec()
REGISTER = {"AwsAccountId": "123456789012", "Namespace": "default", "Email": "a@example.com",
            "IdentityType": "QUICKSIGHT", "UserRole": "READER", "UserName": "qsc-bob"}
UPDATE = {"AwsAccountId": "123456789012", "Namespace": "default", "UserName": "qsc-bob",
          "Email": "a@example.com", "Role": "ADMIN"}
IAM_USER = "arn:aws:iam::123456789012:user/bob"
IAM_ROLE = "arn:aws:iam::123456789012:role/embedding"
DROP = object()


def classify(op, base, config=OracleConfig(), **changes):
    params = dict(base)
    for k, v in changes.items():
        if v is DROP:
            params.pop(k, None)
        else:
            params[k] = v
    return oracle_for(SPEC[op], config).classify(params)


@pytest.mark.parametrize("changes", [
    {},
    {"Email": "nottarealemailbutworks"},  # observed #6: no format check
    {"UserName": "qsc- /%+?#éÿ"},
    {"IdentityType": "IAM", "UserName": DROP, "IamArn": IAM_USER},
    {"IdentityType": "IAM", "UserName": DROP, "IamArn": IAM_ROLE, "SessionName": "qsc-s1"},
    {"ExternalLoginFederationProviderType": "CUSTOM_OIDC", "CustomFederationProviderUrl": "https://idp.example.com"},
    {"ExternalLoginFederationProviderType": "COGNITO"},
    {"Tags": [{"Key": "k" * 128, "Value": "v" * 256}]},
    {"UserRole": "AUTHOR_PRO"},
])
def test_valid_register_requests(changes):
    result = classify("RegisterUser", REGISTER, **changes)
    assert result.kind == "valid", result


@pytest.mark.parametrize("changes, broken", [
    ({"Email": DROP}, {"RegisterUser.Email.required"}),
    ({"Email": None}, {"RegisterUser.Email.required"}),
    ({"Email": {}}, {"RegisterUser.Email.type"}),
    ({"UserRole": "reader"}, {"RegisterUser.UserRole.enum"}),
    ({"AwsAccountId": "1234567890123"}, {"RegisterUser.AwsAccountId.max_length", "RegisterUser.AwsAccountId.pattern"}),
    ({"AwsAccountId": "12345678901a"}, {"RegisterUser.AwsAccountId.pattern"}),
    ({"Namespace": "a" * 65}, {"RegisterUser.Namespace.max_length"}),
    ({"Namespace": "no!such"}, {"RegisterUser.Namespace.pattern"}),
    ({"Namespace": "missing"}, {"RegisterUser.namespace-must-exist"}),
    ({"UserName": "\u0100\u4e00"}, {"RegisterUser.UserName.pattern"}),
    ({"SessionName": "x"}, {"RegisterUser.SessionName.min_length", "RegisterUser.sessionname-needs-iam"}),
    ({"IdentityType": "IAM", "UserName": DROP}, {"RegisterUser.iam-requires-iamarn"}),
    ({"IdentityType": "IAM", "IamArn": IAM_USER}, {"RegisterUser.iam-forbids-username"}),
    ({"UserName": DROP}, {"RegisterUser.quicksight-requires-username"}),
    ({"ExternalLoginFederationProviderType": "CUSTOM_OIDC"}, {"RegisterUser.custom-oidc-requires-url"}),
    ({"ExternalLoginFederationProviderType": "COGNITO", "CustomFederationProviderUrl": "https://x.example"},
     {"RegisterUser.cognito-forbids-url"}),
    ({"CustomFederationProviderUrl": "https://x.example"}, {"RegisterUser.url-requires-provider-type"}),
    ({"Tags": []}, {"RegisterUser.Tags.min_items"}),
    ({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(201)]}, {"RegisterUser.Tags.max_items"}),
    ({"Tags": [{"Key": "k" * 129, "Value": "v"}]}, {"RegisterUser.Tags[].Key.max_length"}),
    ({"Tags": [{"Value": "v"}]}, {"RegisterUser.Tags[].Key.required"}),
])
def test_invalid_register_requests(changes, broken):
    result = classify("RegisterUser", REGISTER, **changes)
    assert result.kind == "invalid" and result.broken == broken, result


@pytest.mark.parametrize("changes, why", [
    ({"UserName": "a\u0100"}, "unanchored pattern matches, anchored does not"),
    ({"Email": 12}, "a number may be coerced to a string"),
    ({"Email": ""}, "the fate of an empty Email is unseen"),
    ({"Email": "x" * 129}, "no maximum in the sources"),
    ({"UserRole": "RESTRICTED_READER"}, "'not currently available'"),
    ({"ExternalLoginFederationProviderType": "NONE"}, "valid on UpdateUser, unseen on RegisterUser"),
    ({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}, "duplicate tag keys"),
    ({"Tags": [{"Key": "aws:x", "Value": "1"}]}, "reserved tag prefix"),
    ({"CustomPermissionsName": "profile"}, "no profile configured"),
    ({"IdentityType": "IAM", "UserName": DROP, "IamArn": IAM_ROLE}, "role ARN without a session name"),
    ({"IdentityType": "IAM_IDENTITY_CENTER"}, "depends on the account"),
    ({"Tags": [{"Key": "é" * 100, "Value": "v"}]}, "100 code points, 200 UTF-8 bytes"),
])
def test_ambiguous_requests_are_neither(changes, why):
    assert classify("RegisterUser", REGISTER, **changes).kind == "ambiguous", why


def test_configured_profile_name_makes_the_member_valid():
    config = OracleConfig(custom_permissions_name="analysts")
    assert classify("RegisterUser", REGISTER, config, CustomPermissionsName="analysts").kind == "valid"
    assert classify("RegisterUser", REGISTER, config, CustomPermissionsName="other").kind == "ambiguous"


def test_update_user_rules():
    assert classify("UpdateUser", UPDATE).kind == "valid"
    assert classify("UpdateUser", UPDATE, Role="READER_PRO").kind == "valid"  # the model's roles, not the page's three
    assert classify("UpdateUser", UPDATE, UnapplyCustomPermissions=True).kind == "valid"
    assert classify("UpdateUser", UPDATE, UnapplyCustomPermissions=False).kind == "ambiguous"
    assert classify("UpdateUser", UPDATE, UserName="..").kind == "ambiguous"
    assert classify("UpdateUser", UPDATE, ExternalLoginFederationProviderType="NONE").kind == "valid"
    result = classify("UpdateUser", UPDATE, UserName="\u0101")
    assert result.broken == {"UpdateUser.UserName.pattern"}
    assert SPEC["UpdateUser"].rule("UpdateUser.UserName.pattern").outcome == "invalid_or_not_found"


def test_body_that_is_not_a_json_object():
    oracle = oracle_for(SPEC["RegisterUser"])
    assert oracle.classify(REGISTER, raw_body=b'{"Email":').broken == {"RegisterUser.protocol.body-not-json"}
    assert oracle.classify(REGISTER, raw_body=b"[]").broken == {"RegisterUser.protocol.body-not-object"}


def test_update_setup_body_registers_a_valid_user():
    setup = SPEC["UpdateUser"].raw["target"]
    body = dict(setup["setup_body"], **{setup["existing_user_member"]: "qsc-x"})
    params = {"AwsAccountId": "123456789012", "Namespace": "default", **body}
    assert oracle_for(SPEC[setup["setup_operation"]]).classify(params).kind == "valid"


@pytest.mark.parametrize("op, base", [("RegisterUser", REGISTER), ("UpdateUser", UPDATE)])
def test_contract_schema_agrees_with_the_oracle(op, base):
    strict = contract_schema(SPEC[op], "strict")
    lenient = contract_schema(SPEC[op], "lenient")
    for schema in (strict, lenient):
        jsonschema.Draft202012Validator.check_schema(schema)
    samples = [dict(base), {**base, "Email": None}, {**base, "AwsAccountId": "x"}, {**base, "Email": 5}]
    for params in samples:
        kind = oracle_for(SPEC[op]).classify(params).kind
        assert Validator(strict).is_valid(params) == (kind == "valid")
        assert (not Validator(lenient).is_valid(params)) == (kind == "invalid")
