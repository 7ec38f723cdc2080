"""Every fault of the reference server really deviates, and names rules that exist.

PROBES holds, per fault, one small exchange and the deviation to look for
(True when seen). Each probe must see the deviation on a server with the
fault and must not see it on the faithful server.
"""
import json

import pytest

from qsconform.conformance.reference import FAULTS, start_reference
from qsconform.conformance.reference.client import ACCOUNT, Client, iam_user, quicksight_user
from qsconform.conformance.reference.crossfield import CHECKS
from qsconform.conformance.reference.faults import HOOKS
from qsconform.conformance.wire.protocol import parse_error_type
from qsconform.spec.loader import default_spec, load_spec

PROTOCOL = default_spec().protocol
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/bob"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/embedder"
EDIT = {"Email": "changed@example.com", "Role": "AUTHOR"}


def registered(c: Client, name: str = "u") -> Client:
    assert c.register(quicksight_user(name)).status_code == 201
    return c


def status(r) -> int:
    return r.status_code


def user(r) -> dict:
    return r.json().get("User", {})


def error_of(r) -> tuple[int, str | None]:
    return r.status_code, parse_error_type(r.headers, r.content, PROTOCOL)


def is_json(r) -> bool:
    try:
        json.loads(r.content)
    except ValueError:
        return False
    return True


def external_login_shown(c: Client) -> bool:
    shown = [user(c.register(quicksight_user("u", ExternalLoginFederationProviderType="COGNITO",
                                             ExternalLoginId="id-1"))),
             user(c.update("u", {**EDIT, "ExternalLoginFederationProviderType": "CUSTOM_OIDC",
                                 "CustomFederationProviderUrl": "https://idp.example.com"}))]
    return all("ExternalLoginFederationProviderType" in u for u in shown)


PROBES = {
    "slash-decoded-before-split": lambda c: status(registered(c, "a/b").update("a/b", EDIT)) != 200,
    "malformed-json-500": lambda c: status(c.register(raw=b'{"Email": ')) == 500,
    "body-not-object-500": lambda c: status(c.register(raw=b"[]")) == 500,
    "register-role-enum-unchecked": lambda c: status(c.register(quicksight_user("u", UserRole="OWNER"))) == 201,
    "update-role-enum-unchecked": lambda c: status(registered(c).update("u", {**EDIT, "Role": "OWNER"})) == 200,
    "register-account-pattern-unchecked":
        lambda c: status(c.register(quicksight_user("u"), account="abcdefghijkl")) == 201,
    "update-account-unchecked": lambda c: status(registered(c).update("u", EDIT, account="abcdefghijkl")) == 200
        and status(c.update("u", EDIT, account="12345")) == 200,
    "register-username-pattern-unchecked": lambda c: status(c.register(quicksight_user("ā"))) == 201,
    "namespace-ignored": lambda c: status(c.register(quicksight_user("u"), namespace="n" * 65)) == 201
        and status(c.update("u", EDIT, namespace="a b")) == 200,
    "tags-max-items-unchecked": lambda c: status(c.register(quicksight_user(
        "u", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(201)]))) == 201,
    "tag-key-max-length-unchecked":
        lambda c: status(c.register(quicksight_user("u", Tags=[{"Key": "k" * 129, "Value": "v"}]))) == 201,
    "register-email-required-unchecked":
        lambda c: status(c.register({k: v for k, v in quicksight_user("u").items() if k != "Email"})) == 201,
    "update-email-required-unchecked": lambda c: status(registered(c).update("u", {"Role": "AUTHOR"})) == 200,
    "email-type-unchecked": lambda c: status(c.register(quicksight_user("u", Email={"a": 1}))) == 201,
    "iamarn-unchecked": lambda c: status(c.register(iam_user({"not": "an arn"}))) == 201,
    "update-username-unchecked-500": lambda c: status(c.update("\u0100", EDIT)) == 500,
    "iam-without-iamarn-accepted":
        lambda c: status(c.register({"Email": "e", "IdentityType": "IAM", "UserRole": "READER"})) == 201,
    "iam-with-username-accepted": lambda c: status(c.register(iam_user(USER_ARN, UserName="bob"))) == 201,
    "space-in-username-refused": lambda c: status(c.register(quicksight_user("a b"))) == 400,
    "duplicate-accepted": lambda c: status(registered(c).register(quicksight_user("u"))) == 201,
    "update-not-persisted": lambda c: user(registered(c).update("u", EDIT))["Email"] == EDIT["Email"]
        and user(c.describe("u"))["Email"] != EDIT["Email"],
    "update-keeps-old-email": lambda c: user(registered(c).update("u", EDIT))["Email"] != EDIT["Email"]
        and user(c.describe("u"))["Email"] != EDIT["Email"] and user(c.describe("u"))["Role"] == EDIT["Role"],
    "update-keeps-old-role": lambda c: user(registered(c).update("u", EDIT))["Role"] != EDIT["Role"]
        and user(c.describe("u"))["Role"] != EDIT["Role"] and user(c.describe("u"))["Email"] == EDIT["Email"],
    "username-trimmed": lambda c: (lambda u: u["UserName"] == "u" and u["Arn"].endswith("/default/u"))(
        user(c.register(quicksight_user("u ")))) and user(c.describe("u "))["UserName"] == "u",
    "email-trimmed": lambda c: user(c.register(quicksight_user("u", Email=" e@example.com ")))["Email"]
        == "e@example.com" and user(c.update("u", {**EDIT, "Email": " f "}))["Email"] == "f",
    "latin1-username-500": lambda c: status(c.register(quicksight_user("é"))) == 500,
    "namespace-not-checked": lambda c: status(c.register(quicksight_user("u"), namespace="other")) == 201,
    "role-session-named-by-session": lambda c: (lambda u: u["UserName"] == "s1" and u["Arn"].endswith("/default/s1"))(
        user(c.register(iam_user(ROLE_ARN, SessionName="s1")))),
    "none-stored-as-provider-type": lambda c: user(registered(c).update(
        "u", {**EDIT, "ExternalLoginFederationProviderType": "NONE"})).get("ExternalLoginFederationProviderType")
        == "NONE",
    "unapply-writes-empty-profile": lambda c: user(registered(c).update(
        "u", {**EDIT, "UnapplyCustomPermissions": True})).get("CustomPermissionsName") == "",
    "cognito-url-wrong": lambda c: user(c.register(quicksight_user(
        "u", ExternalLoginFederationProviderType="COGNITO", ExternalLoginId="id-1"))).get(
        "ExternalLoginFederationProviderUrl") == "cognito-idp.amazonaws.com",
    "request-id-body-missing": lambda c: "RequestId" not in c.register(quicksight_user("u")).json(),
    "request-id-header-missing": lambda c: "x-amzn-RequestId" not in c.register(quicksight_user("u")).headers,
    "content-type-html":
        lambda c: c.register(quicksight_user("u")).headers["Content-Type"].startswith("text/html"),
    "principal-id-missing": lambda c: "PrincipalId" not in user(c.register(quicksight_user("u")))
        and "PrincipalId" not in user(c.update("u", EDIT)),
    "active-as-string": lambda c: user(c.register(quicksight_user("u")))["Active"] == "false",
    "external-login-not-echoed": lambda c: not external_login_shown(c),
    "arn-wrong-region": lambda c: ":us-east-1:" not in user(c.register(quicksight_user("u")))["Arn"],
    "arn-wrong-namespace":
        lambda c: not user(c.register(quicksight_user("u")))["Arn"].endswith(":user/default/u"),
    "invitation-url-for-iam": lambda c: "UserInvitationUrl" in c.register(iam_user(USER_ARN)).json(),
    "invitation-url-missing": lambda c: "UserInvitationUrl" not in c.register(quicksight_user("u")).json(),
    "role-echo-altered": lambda c: user(c.register(quicksight_user("u", UserRole="ADMIN")))["Role"] != "ADMIN",
    "email-lowercased":
        lambda c: user(c.register(quicksight_user("u", Email="Mixed@Example.COM")))["Email"] == "mixed@example.com",
    "new-user-active": lambda c: user(c.register(quicksight_user("u")))["Active"] is True,
    "register-status-202": lambda c: status(c.register(quicksight_user("u"))) == 202,
    "register-status-200": lambda c: status(c.register(quicksight_user("u"))) == 200,
    "update-status-201": lambda c: status(registered(c).update("u", EDIT)) == 201,
    "refusals-500": lambda c: status(c.register(quicksight_user("u", UserRole="OWNER"))) == 500,
    "not-found-as-400": lambda c: status(c.update("nobody", EDIT)) == 400,
    "wrong-error-type-name": lambda c: c.register(quicksight_user("u", UserRole="OWNER")).headers.get(
        "X-Amzn-ErrorType") == "InvalidParameterException",
    "error-type-misspelt-header": lambda c: (lambda r: r.status_code == 409 and parse_error_type(r.headers, r.content, PROTOCOL)
                                            is None and "X-Amzn-Error-Type" in r.headers)(
        registered(c).register(quicksight_user("u"))),
    "invalid-parameter-422": lambda c: error_of(c.register(quicksight_user("u", UserRole="OWNER"))) ==
        (422, "InvalidParameterValueException"),
    "update-refusals-as-resource-exists": lambda c: (lambda r: error_of(r) == (409, "ResourceExistsException")
                                                     and r.json()["ResourceType"] == "USER")(
        registered(c).update("u", {**EDIT, "Role": "OWNER"})),
    "resource-type-missing": lambda c: "ResourceType" not in c.register(quicksight_user("u"), namespace="other").json()
        and "ResourceType" not in registered(c).register(quicksight_user("u")).json(),
    "error-request-id-missing": lambda c: "RequestId" not in c.update("nobody", EDIT).json()
        and "RequestId" not in c.register(quicksight_user("u", UserRole="OWNER")).json(),
    "error-message-missing": lambda c: "Message" not in c.update("nobody", EDIT).json(),
    "error-body-not-json": lambda c: not is_json(c.update("nobody", EDIT)),
}


@pytest.fixture(scope="module")
def faithful():
    with start_reference() as server:
        yield server


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_fault_deviates_where_the_faithful_server_does_not(name, faithful):
    probe = PROBES[name]
    faithful.reset()
    assert not probe(Client(faithful.url)), f"the faithful server already shows {name}"
    with start_reference(faults=(name,)) as server:
        assert probe(Client(server.url)), f"{name} did not deviate"


def test_every_probe_is_for_a_fault():
    assert set(PROBES) == set(FAULTS)


def test_the_type_stays_out_of_the_body_with_a_misspelt_header():
    with start_reference(faults=("error-type-misspelt-header",), error_in_body=True) as server:
        r = Client(server.url).update("nobody", EDIT)
        assert r.status_code == 404 and "__type" not in r.json() and parse_error_type(r.headers, r.content, PROTOCOL) is None


def test_faults_combine():
    with start_reference(faults=("duplicate-accepted", "register-status-200")) as server:
        c = Client(server.url)
        assert [c.register(quicksight_user("u")).status_code for _ in range(2)] == [200, 200]


# -- the fault list as data ------------------------------------------------------------------------

RULES = {r.id: r for r in load_spec().rules}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_fault_breaks_rules_of_the_spec(name):
    fault = FAULTS[name]
    assert fault.name == name and fault.description and (fault.breaks or fault.advises)
    assert set(fault.breaks) <= set(RULES), f"unknown rule ids in {name}: {set(fault.breaks) - set(RULES)}"


def test_skipped_checks_are_checks_the_server_has():
    member_rules = {rid for rid, r in RULES.items() if r.kind == "member"}
    cross = {check_id for checks in CHECKS.values() for check_id, _ in checks}
    for fault in FAULTS.values():
        assert set(fault.skips) <= member_rules | cross, fault.name


def test_faults_cover_every_hook_and_every_kind_of_rule():
    assert len(FAULTS) >= 25
    assert {f.hook for f in FAULTS.values()} == set(HOOKS)
    kinds = {RULES[rid].kind for f in FAULTS.values() for rid in f.breaks}
    assert kinds == {"member", "cross", "protocol", "response", "lifecycle"}
    checks = {RULES[rid].check for f in FAULTS.values() for rid in f.breaks if RULES[rid].kind == "response"}
    every_check = {r.check for r in RULES.values() if r.kind == "response"}
    assert checks == every_check, f"response checks no fault breaks: {every_check - checks}"


def test_a_fault_advises_stronger_rules_it_breaks_only_in_a_weaker_part():
    for fault in FAULTS.values():
        assert set(fault.advises) <= set(RULES) and not set(fault.advises) & set(fault.breaks), fault.name
        assert all(RULES[rid].level in ("MUST", "OBSERVED") for rid in fault.advises), fault.name


def test_what_the_suite_must_report_for_a_fault():
    levels = {rid: r.level for rid, r in RULES.items()}
    assert FAULTS["principal-id-missing"].expected(levels) == {
        "RegisterUser.response.required-members": "failed", "UpdateUser.response.required-members": "advisory"}
    assert FAULTS["external-login-not-echoed"].expected(levels) == {
        "RegisterUser.response.echo": "advisory", "UpdateUser.response.echo": "advisory"}
    assert FAULTS["invalid-parameter-422"].expected(levels)["RegisterUser.CustomPermissionsName.pattern"] == "advisory"
    # a refusal of a member breaking its own constraint: refused (MUST), its error type only inferred (SHOULD)
    assert FAULTS["invalid-parameter-422"].expected(levels)["RegisterUser.UserRole.enum"] == "advisory"
    # members that do not go together: InvalidParameterValueException was seen (observed #7)
    assert FAULTS["invalid-parameter-422"].expected(levels)["RegisterUser.iam-forbids-username"] == "failed"
    assert FAULTS["update-not-persisted"].expected(levels) == {"UpdateUser.lifecycle.update-persists": "failed"}
    assert FAULTS["update-status-201"].expected(levels) == {"UpdateUser.response.success-status": "advisory"}


def test_fault_and_variant_names_are_apart():
    from qsconform.conformance.reference import VARIANTS
    assert not set(FAULTS) & {name for name, _ in VARIANTS}
