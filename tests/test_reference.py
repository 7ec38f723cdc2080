"""The reference server, faithful: real HTTP to it on loopback, each operation as the docs describe it."""
import json
import re
import subprocess
import sys

import pytest
import requests

from qsconform.conformance.reference import VARIANTS, ReferenceServer, start_reference
from qsconform.conformance.reference.client import ACCOUNT, Client, iam_user, quicksight_user
from qsconform.spec.loader import load_spec

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/embedding_quicksight_dashboard_role"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/division/bob"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def server():
    with start_reference() as s:
        yield s


@pytest.fixture
def client(server):
    server.reset()
    return Client(server.url)


def error_of(r: requests.Response) -> tuple[int, str | None]:
    return r.status_code, r.headers.get("X-Amzn-ErrorType")


# -- RegisterUser -------------------------------------------------------------------------------

def test_register_answers_201_with_the_documented_body(client):
    r = client.register(quicksight_user("alice", Email="Alice@Example.com"))
    assert r.status_code == 201
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"User", "UserInvitationUrl", "RequestId"}
    assert body["RequestId"] == r.headers["x-amzn-RequestId"] and UUID.match(body["RequestId"])
    assert body["User"] == {
        "Arn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/alice", "UserName": "alice",
        "Email": "Alice@Example.com", "Role": "READER", "IdentityType": "QUICKSIGHT", "Active": False,
        "PrincipalId": body["User"]["PrincipalId"]}
    assert body["User"]["PrincipalId"].startswith("federated/quicksight/")
    assert re.match(r"^https://[^/\s]+\.[^/\s]+/", body["UserInvitationUrl"])


def test_register_a_role_session_names_the_user_role_slash_session(client):
    r = client.register(iam_user(ROLE_ARN, SessionName="user9@vyushenko.com"))
    assert r.status_code == 201
    user = r.json()["User"]
    # observed #1, the body published for a role session
    assert user["UserName"] == "embedding_quicksight_dashboard_role/user9@vyushenko.com"
    assert user["Arn"].endswith(":user/default/embedding_quicksight_dashboard_role/user9@vyushenko.com")
    assert re.match(r"^federated/iam/AROA[0-9A-F]+:user9@vyushenko.com$", user["PrincipalId"])
    assert "UserInvitationUrl" not in r.json()
    assert client.describe("embedding_quicksight_dashboard_role/user9@vyushenko.com").status_code == 200


def test_register_an_iam_user_names_it_from_its_arn_without_the_path(client):
    r = client.register(iam_user(USER_ARN))
    assert r.status_code == 201
    assert r.json()["User"]["UserName"] == "bob" and r.json()["User"]["PrincipalId"].startswith("federated/iam/AIDA")
    assert "UserInvitationUrl" not in r.json()


def test_register_an_existing_name_is_409_resource_exists(client):
    assert client.register(quicksight_user("dup")).status_code == 201
    r = client.register(quicksight_user("dup", Email="other@example.com"))
    assert error_of(r) == (409, "ResourceExistsException")
    assert r.json()["ResourceType"] == "USER" and r.json()["Message"] and r.json()["RequestId"]
    assert client.describe("dup").json()["User"]["Email"] == "qsc@example.com"  # the first one kept


def test_a_malformed_email_is_a_valid_email(client):
    # observed #6: the real API takes any string
    assert client.register(quicksight_user("e", Email="nottarealemailbutworks")).status_code == 201
    assert client.update("e", {"Email": "nottarealemailbutworks2", "Role": "READER"}).status_code == 200


def test_external_login_is_shown_on_the_user(client):
    r = client.register(quicksight_user("c", ExternalLoginFederationProviderType="COGNITO", ExternalLoginId="id-1"))
    user = r.json()["User"]
    assert (user["ExternalLoginFederationProviderType"], user["ExternalLoginFederationProviderUrl"],
            user["ExternalLoginId"]) == ("COGNITO", "cognito-identity.amazonaws.com", "id-1")
    r = client.register(quicksight_user("o", ExternalLoginFederationProviderType="CUSTOM_OIDC",
                                        CustomFederationProviderUrl="https://idp.example.com"))
    assert r.json()["User"]["ExternalLoginFederationProviderUrl"] == "https://idp.example.com"


# -- names in the path ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["with space", "a/b", "50%", "%2F", "é", "ÿÿ", " lead", "..", "a?b#c"])
def test_a_name_is_registered_updated_described_and_deleted_through_its_encoded_label(client, server, name):
    assert client.register(quicksight_user(name)).status_code == 201
    r = client.update(name, {"Email": "new@example.com", "Role": "AUTHOR"})
    assert r.status_code == 200, r.text
    assert (r.json()["User"]["UserName"], r.json()["User"]["Role"]) == (name, "AUTHOR")
    assert client.describe(name).json()["User"]["Email"] == "new@example.com"
    assert server.store.names(ACCOUNT) == [name]
    assert client.delete(name).status_code == 200
    assert server.store.names(ACCOUNT) == []


def test_non_ascii_text_reads_alike_escaped_and_raw(client):
    escaped = json.dumps(quicksight_user("ÿé")).encode("ascii")
    raw = json.dumps(quicksight_user("ÿé"), ensure_ascii=False).encode("utf-8")
    assert escaped != raw
    assert client.register(raw=escaped).status_code == 201
    assert error_of(client.register(raw=raw))[0] == 409  # the same name


# -- UpdateUser, DescribeUser, DeleteUser, ListUsers ---------------------------------------------------

def test_update_changes_the_user_and_persists(client):
    client.register(quicksight_user("u", CustomPermissionsName="profile-1"))
    r = client.update("u", {"Email": "u2@example.com", "Role": "ADMIN_PRO", "UnapplyCustomPermissions": True})
    assert r.status_code == 200 and set(r.json()) == {"User", "RequestId"}
    assert "CustomPermissionsName" not in r.json()["User"]
    described = client.describe("u").json()["User"]
    assert (described["Email"], described["Role"]) == ("u2@example.com", "ADMIN_PRO")
    assert described == r.json()["User"]


def test_update_none_clears_the_external_login(client):
    client.register(quicksight_user("x", ExternalLoginFederationProviderType="COGNITO"))
    r = client.update("x", {"Email": "x@example.com", "Role": "READER", "ExternalLoginFederationProviderType": "NONE"})
    assert not any(k.startswith("ExternalLogin") for k in r.json()["User"])


def test_update_of_a_missing_user_is_404_resource_not_found(client):
    r = client.update("nobody", {"Email": "a@example.com", "Role": "READER"})
    assert error_of(r) == (404, "ResourceNotFoundException") and r.json()["ResourceType"] == "USER"


def test_update_validates_before_it_looks_the_user_up(client):
    assert error_of(client.update("nobody", {"Email": "a@example.com", "Role": "OWNER"})) == \
        (400, "InvalidParameterValueException")


def test_delete_answers_200_and_the_user_is_gone(client):
    client.register(quicksight_user("d"))
    r = client.delete("d")
    assert r.status_code == 200 and set(r.json()) == {"RequestId"}
    assert error_of(client.describe("d")) == (404, "ResourceNotFoundException")
    assert error_of(client.delete("d")) == (404, "ResourceNotFoundException")
    assert error_of(client.update("d", {"Email": "a@example.com", "Role": "READER"}))[0] == 404


def test_list_users_pages_with_next_token(client):
    names = [f"p{i}" for i in range(5)]
    for name in names:
        client.register(quicksight_user(name))
    seen, token, pages = [], None, 0
    while True:
        page = client.list(max_results=2, next_token=token).json()
        seen += [u["UserName"] for u in page["UserList"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert (seen, pages) == (names, 3)
    assert error_of(client.list(next_token="bogus")) == (400, "InvalidNextTokenException")
    assert error_of(client.list(max_results=0))[0] == 400


def test_namespaces_other_than_default_do_not_exist(client):
    for r in (client.register(quicksight_user("n"), namespace="other"),
              client.update("n", {"Email": "a@example.com", "Role": "READER"}, namespace="other"),
              client.list(namespace="other")):
        assert error_of(r) == (404, "ResourceNotFoundException") and r.json()["ResourceType"] == "NAMESPACE"


def test_every_account_has_its_own_users(client, server):
    assert client.register(quicksight_user("same"), account="000000000001").status_code == 201
    assert client.register(quicksight_user("same"), account="000000000002").status_code == 201
    assert client.describe("same").status_code == 404
    assert server.store.names("000000000001") == ["same"]


def test_unknown_routes_and_methods_are_unknown_operations(client):
    for method, path in (("GET", "/"), ("PATCH", client.user_path("a")), ("POST", client.user_path("a")),
                         ("GET", client.users_path() + "/a/b"), ("PUT", client.users_path() + "/")):
        r = client.send(method, path)
        assert error_of(r) == (404, "UnknownOperationException"), (method, path)
        assert r.json()["Message"] and r.headers["x-amzn-RequestId"]


def test_signatures_are_not_checked(client):
    r = client.send("POST", client.users_path(), quicksight_user("signed"),
                    headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x/y, Signature=nonsense"})
    assert r.status_code == 201


# -- validation -------------------------------------------------------------------------------------

MEMBER_VIOLATIONS = [  # (what, operation, body changes, where): each breaks one member constraint
    ("role not in enum", "register", {"UserRole": "OWNER"}, {}),
    ("identity type not in enum", "register", {"IdentityType": "SAML"}, {}),
    ("missing Email", "register", {"Email": None}, {}),
    ("missing UserRole", "register", {"UserRole": None}, {}),
    ("user name beyond U+00FF", "register", {"UserName": "ā"}, {}),
    ("empty user name", "register", {"UserName": ""}, {}),
    ("session name too short", "register", {"IdentityType": "IAM", "UserName": None, "IamArn": ROLE_ARN,
                                            "SessionName": "s"}, {}),
    ("custom permissions name with a space", "register", {"CustomPermissionsName": "a b"}, {}),
    ("provider type not in enum", "register", {"ExternalLoginFederationProviderType": "NONE"}, {}),
    ("no tags", "register", {"Tags": []}, {}),
    ("201 tags", "register", {"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(201)]}, {}),
    ("tag key of 129", "register", {"Tags": [{"Key": "k" * 129, "Value": "v"}]}, {}),
    ("tag value of 257 code points", "register", {"Tags": [{"Key": "k", "Value": "é" * 257}]}, {}),
    ("tag without value", "register", {"Tags": [{"Key": "k"}]}, {}),
    ("account of 11 digits", "register", {}, {"account": "12345678901"}),
    ("account of 12 letters", "register", {}, {"account": "abcdefghijkl"}),
    ("namespace of 65", "register", {}, {"namespace": "n" * 65}),
    ("namespace with a space", "register", {}, {"namespace": "my space"}),
    ("update: role not in enum", "update", {"Role": "OWNER"}, {}),
    ("update: missing Email", "update", {"Email": None}, {}),
    ("update: provider type not in enum", "update", {"ExternalLoginFederationProviderType": "SAML"}, {}),
    ("update: account of 13 digits", "update", {}, {"account": "1234567890123"}),
    ("update: user name beyond U+00FF", "update", {}, {"name": "ā"}),
]


def _send(client, operation, changes, where):
    if operation == "register":
        body = {k: v for k, v in {**quicksight_user("v"), **changes}.items() if v is not None}
        return client.register(body, **where)
    client.register(quicksight_user("v"))
    body = {k: v for k, v in {"Email": "v@example.com", "Role": "READER", **changes}.items() if v is not None}
    return client.update(where.pop("name", "v"), body, **where)


@pytest.mark.parametrize("what,operation,changes,where", MEMBER_VIOLATIONS, ids=[v[0] for v in MEMBER_VIOLATIONS])
def test_a_broken_member_constraint_is_400_with_the_constraint_error(client, what, operation, changes, where):
    r = _send(client, operation, changes, dict(where))
    assert error_of(r) == (400, "InvalidParameterValueException"), r.text
    assert set(r.json()) >= {"Message", "RequestId"}


def test_a_lone_surrogate_is_answered_not_crashed(client):
    r = client.register(raw=json.dumps(quicksight_user("s", Email="\ud800")).encode("ascii"))
    assert r.status_code == 201 and r.json()["User"]["Email"] == "\ud800"


def test_lengths_are_counted_in_code_points(client):
    assert client.register(quicksight_user("t", Tags=[{"Key": "é" * 128, "Value": "ÿ" * 256}])).status_code == 201


def test_null_is_absent(client):
    assert client.register(quicksight_user("nl", CustomPermissionsName=None, Tags=None)).status_code == 201


CROSS_VIOLATIONS = [
    ("IAM without IamArn", {"IdentityType": "IAM", "UserName": None}),
    ("IAM with a UserName", {"IdentityType": "IAM", "IamArn": USER_ARN}),
    ("QUICKSIGHT without UserName", {"UserName": None}),
    ("IAM with an IamArn that is no ARN", {"IdentityType": "IAM", "UserName": None, "IamArn": "not-an-arn"}),
    ("IAM with an S3 ARN", {"IdentityType": "IAM", "UserName": None, "IamArn": "arn:aws:s3:::bucket"}),
    ("SessionName without IAM", {"SessionName": "session"}),
    ("CUSTOM_OIDC without a URL", {"ExternalLoginFederationProviderType": "CUSTOM_OIDC"}),
    ("COGNITO with a URL", {"ExternalLoginFederationProviderType": "COGNITO",
                            "CustomFederationProviderUrl": "https://idp.example.com"}),
    ("a URL without a provider type", {"CustomFederationProviderUrl": "https://idp.example.com"}),
]


@pytest.mark.parametrize("what,changes", CROSS_VIOLATIONS, ids=[v[0] for v in CROSS_VIOLATIONS])
def test_a_broken_cross_field_rule_is_400_invalid_parameter_value(client, what, changes):
    r = _send(client, "register", changes, {})
    assert error_of(r) == (400, "InvalidParameterValueException"), r.text


def test_update_cross_field_rules(client):
    assert error_of(_send(client, "update", {"ExternalLoginFederationProviderType": "CUSTOM_OIDC"}, {})) == \
        (400, "InvalidParameterValueException")
    assert _send(client, "update", {"ExternalLoginFederationProviderType": "CUSTOM_OIDC",
                                    "CustomFederationProviderUrl": "https://idp.example.com"}, {}).status_code == 200


SERIALIZATION = [
    ("not JSON", b'{"Email": '),
    ("not UTF-8", b'{"Email": "\xff"}'),
    ("NaN", b'{"Email": NaN}'),
    ("an array", b"[]"),
    ("a string", b'"text"'),
    ("Email as an object", json.dumps(quicksight_user("s", Email={})).encode()),
    ("Email as an array", json.dumps(quicksight_user("s", Email=[])).encode()),
    ("Email as a number", json.dumps(quicksight_user("s", Email=1)).encode()),
    ("Tags as an object", json.dumps(quicksight_user("s", Tags={})).encode()),
    ("a tag as a string", json.dumps(quicksight_user("s", Tags=["k"])).encode()),
]


@pytest.mark.parametrize("what,raw", SERIALIZATION, ids=[v[0] for v in SERIALIZATION])
def test_a_body_that_cannot_be_deserialised_is_400_serialization(client, what, raw):
    assert error_of(client.register(raw=raw)) == (400, "SerializationException")


def test_update_with_a_wrong_json_type_is_400_serialization(client):
    client.register(quicksight_user("w"))
    assert error_of(client.update("w", {"Email": "a@example.com", "Role": "READER",
                                        "UnapplyCustomPermissions": {}})) == (400, "SerializationException")


# -- the server itself ------------------------------------------------------------------------------

def test_region_is_in_the_arn():
    with start_reference(region="eu-central-1") as s:
        r = Client(s.url).register(quicksight_user("r"))
        assert r.json()["User"]["Arn"].startswith("arn:aws:quicksight:eu-central-1:")


@pytest.mark.parametrize("kwargs", [{"region": "Mars"}, {"faults": ("no-such-fault",)}, {"colour": "blue"},
                                    {"constraint_error": "BadRequest"}, {"error_header_style": "suffixed"},
                                    {"error_header": False}, {"status_in_body": "yes"},
                                    {"deserialisation_error": "InternalFailureException"},
                                    {"invitation_url_scheme": "ftp"}, {"describe_lags": "true"}])
def test_bad_options_are_refused(kwargs):
    with pytest.raises(ValueError):
        start_reference(**kwargs)


def test_stop_closes_the_port():
    s = start_reference()
    assert Client(s.url).list().status_code == 200
    s.stop()
    s.stop()  # twice is fine
    with pytest.raises(requests.ConnectionError):
        requests.get(s.url, timeout=2)


def test_variants_cover_every_option_value():
    from dataclasses import fields

    from qsconform.conformance.reference.variants import OPTION_CHOICES, Variant
    seen = {(k, json.dumps(v)) for _, options in VARIANTS for k, v in options.items()}
    every = set()
    for f in fields(Variant):
        values = OPTION_CHOICES.get(f.name, (f.default, not f.default))
        every |= {(f.name, json.dumps(v)) for v in values if v != f.default}
    assert every <= seen, every - seen
    assert VARIANTS[0] == ("faithful", {})


def test_rule_ids_named_by_checks_exist_in_the_spec():
    # The server's own check ids that mirror spec rules: a mismatch would make a fault's skip do nothing.
    from qsconform.conformance.reference.crossfield import CHECKS
    ids = {r.id for r in load_spec().rules}
    assert {check_id for checks in CHECKS.values() for check_id, _ in checks} <= ids


def test_command_line_serves_until_stopped(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "qsconform.conformance.reference", "--port", "0",
                                "--reference-option", "status_in_body=true", "--fault", "new-user-active"],
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        body = Client(url).register(quicksight_user("cli")).json()
        assert body["Status"] == 201 and body["User"]["Active"] is True
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_command_line_lists_faults(capsys):
    from qsconform.conformance.reference import main
    assert main(["--list-faults"]) == 0
    assert "duplicate-accepted [store]" in capsys.readouterr().out


def test_command_line_lists_variants(capsys):
    from qsconform.conformance.reference import main
    assert main(["--list-variants"]) == 0
    out = capsys.readouterr().out
    assert "faithful: (defaults)\n    faithful" in out
    assert ("no-request-id-header: request_id_header=false\n"
            "    lenient, advises RegisterUser.response.request-id-header") in out


def test_reference_server_is_what_start_reference_returns():
    with start_reference() as s:
        assert isinstance(s, ReferenceServer) and s.url.startswith("http://127.0.0.1:")
