"""Each variant of the reference server changes exactly what it says, and nothing else.

Faithful variants: the same script of requests goes to the default server and
to each of them; the answers must agree once the variant's own additions
(which the test checks are there) are taken out. Lenient variants: one test
per option shows the choice it makes, on crafted requests.
"""
import re

import pytest

from qsconform.conformance.reference import VARIANTS, Variant, start_reference
from qsconform.conformance.reference.client import ACCOUNT, Client, iam_user, quicksight_user
from qsconform.conformance.reference.variants import OPTION_NAMES
from qsconform.conformance.wire.protocol import parse_error_type
from qsconform.spec.loader import default_spec, load_spec

# How answers are written: the script's answers compare one for one (a transient 503 is tested apart).
# A transient 503 and a DescribeUser one read behind are tested apart.
FAITHFUL = [v for v in VARIANTS if not v.advises and not v.options.get("transient_unavailable")
            and not v.options.get("describe_lags")]
LENIENT = [v for v in VARIANTS if v.advises]

PROTOCOL = default_spec().protocol
SCRIPT = [  # (what, call); each call takes a Client
    ("register", lambda c: c.register(quicksight_user("a b/é"))),
    ("register again", lambda c: c.register(quicksight_user("a b/é"))),
    ("constraint", lambda c: c.register(quicksight_user("x", UserRole="OWNER"))),
    ("cross-field", lambda c: c.register(quicksight_user(None, IdentityType="IAM") | {"UserName": None})),
    ("not JSON", lambda c: c.register(raw=b"{")),
    ("update", lambda c: c.update("a b/é", {"Email": "new@example.com", "Role": "AUTHOR"})),
    ("update missing", lambda c: c.update("nobody", {"Email": "new@example.com", "Role": "AUTHOR"})),
    ("describe", lambda c: c.describe("a b/é")),
    ("list", lambda c: c.list()),
    ("delete", lambda c: c.delete("a b/é")),
    ("unknown", lambda c: c.send("GET", "/nowhere")),
]
CONSTRAINT_STEPS = {"constraint"}
DESERIALISATION_STEPS = {"not JSON"}


def answers(options: dict) -> list:
    with start_reference(**options) as server:
        client = Client(server.url)
        return [(what, call(client)) for what, call in SCRIPT]


@pytest.fixture(scope="module")
def faithful():
    return answers({})


def normalised(body):
    """Values that differ between two runs of the same script (ids, tokens) replaced by placeholders."""
    if not isinstance(body, dict):
        return body
    out = {k: ("<varies>" if k in ("RequestId", "PrincipalId", "UserInvitationUrl") else normalised(v))
           for k, v in body.items()}
    if isinstance(out.get("UserList"), list):
        out["UserList"] = [normalised(u) for u in out["UserList"]]
    return out


def without_additions(what: str, response, variant: Variant) -> dict:
    """The body with the variant's additions taken out, after checking they are there as promised."""
    body = dict(response.json())
    ok = 200 <= response.status_code < 300
    if variant.status_in_body and ok:
        assert body.pop("Status") == response.status_code, what
    if variant.extra_members:
        assert body.pop("X-Future") == 1, what
        if isinstance(body.get("User"), dict):
            body["User"] = dict(body["User"])
            assert body["User"].pop("FutureField"), what
    if variant.error_in_body and not ok:
        assert body.pop("__type") == variant.spell_error_type(parse_error_type(response.headers, response.content, PROTOCOL)), what
    return body


@pytest.mark.parametrize("name,options", FAITHFUL, ids=[name for name, _ in FAITHFUL])
def test_a_faithful_variant_changes_exactly_what_it_says(faithful, name, options):
    variant = Variant(**options)
    for (what, expected), (_, got) in zip(faithful, answers(options)):
        assert got.status_code == expected.status_code, what
        assert got.headers["x-amzn-RequestId"] and got.headers["Content-Type"] == "application/json", what
        error_type = parse_error_type(expected.headers, expected.content, PROTOCOL)
        if error_type == "InvalidParameterValueException" and what in CONSTRAINT_STEPS:
            error_type = variant.constraint_error
        if error_type == "SerializationException" and what in DESERIALISATION_STEPS:
            error_type = variant.deserialisation_error
        assert parse_error_type(got.headers, got.content, PROTOCOL) == error_type, what
        header = got.headers.get("X-Amzn-ErrorType")
        if error_type is None or not variant.error_header:
            assert header is None, what
        else:
            assert header == variant.spell_error_type(error_type), what
        assert normalised(without_additions(what, got, variant)) == normalised(expected.json()), what


@pytest.mark.parametrize("style,header", [
    ("plain", "ResourceExistsException"),
    ("suffix", "ResourceExistsException:http://internal.amazon.com/coral/com.amazonaws.quicksight/"),
    ("prefix", "com.amazonaws.quicksight#ResourceExistsException"),
])
def test_error_header_styles(style, header):
    with start_reference(error_header_style=style) as server:
        client = Client(server.url)
        client.register(quicksight_user("d"))
        assert client.register(quicksight_user("d")).headers["X-Amzn-ErrorType"] == header


def test_the_type_only_in_the_body():
    with start_reference(error_in_body=True, error_header=False, constraint_error="ValidationException") as server:
        r = Client(server.url).register(quicksight_user("v", UserRole="OWNER"))
        assert r.status_code == 400 and "X-Amzn-ErrorType" not in r.headers
        assert r.json()["__type"] == "ValidationException"


# -- the variants as data ----------------------------------------------------------------------------

RULES = {r.id: r for r in load_spec().rules}


def test_variants_are_pairs_with_what_they_advise():
    assert VARIANTS[0] == ("faithful", {}) and VARIANTS[0].advises == ()
    for entry in VARIANTS:
        name, options = entry
        assert (entry.name, entry.options) == (name, options)
        Variant(**options)  # every option is one the server takes
        assert set(entry.advises) <= set(RULES), f"unknown rule ids in {name}"


def test_a_lenient_variant_advises_only_rules_an_inference_backs_or_parts_of_them():
    # A variant may only make advisory what is not MUST or OBSERVED: a SHOULD rule, an input rule whose
    # refusal's error type is only inferred (its outcome class is SHOULD), or a response rule judged on a
    # SHOULD part (an echoed member, the https of an invitation URL) or on a request valid by inference only.
    # The suite's runs (tests/test_verdicts.py) prove that each comes out advisory and nothing fails.
    spec = load_spec()
    for entry in LENIENT:
        assert entry.advises, entry.name
        for rule_id in entry.advises:
            rule = RULES[rule_id]
            weak_answer = rule.kind != "response" and rule.outcome is not None and spec.common["outcomes"][rule.outcome]["level"] == "SHOULD"
            assert rule.level == "SHOULD" or weak_answer or rule.kind == "response", (entry.name, rule_id)


def test_every_lenient_option_has_a_variant_and_a_test():
    lenient_options = {k for entry in LENIENT for k in entry.options}
    faithful_options = {k for entry in VARIANTS if not entry.advises for k in entry.options}
    assert lenient_options | faithful_options == set(OPTION_NAMES)
    assert lenient_options <= set(LENIENT_TESTS)


# -- lenient variants, one option at a time --------------------------------------------------------

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/embedder"
EDIT = {"Email": "new@example.com", "Role": "AUTHOR"}


def error_of(r) -> tuple[int, str | None]:
    return r.status_code, parse_error_type(r.headers, r.content, PROTOCOL)


def pair(options: dict):
    """A faithful server and one with `options`, each with a client."""
    faithful, lenient = start_reference(), start_reference(**options)
    return (faithful, Client(faithful.url)), (lenient, Client(lenient.url))


@pytest.fixture
def servers(request):
    (f, fc), (v, vc) = pair(request.param)
    yield fc, vc
    f.stop()
    v.stop()


def lenient(options):
    return pytest.mark.parametrize("servers", [options], indirect=True)


@lenient({"accept_session_name_without_iam": True})
def test_session_name_without_iam_is_accepted_and_ignored(servers):
    faithful, client = servers
    body = quicksight_user("q", SessionName="session-1")
    assert error_of(faithful.register(body)) == (400, "InvalidParameterValueException")
    r = client.register(body)
    assert r.status_code == 201
    assert r.json()["User"]["UserName"] == "q" and r.json()["User"]["PrincipalId"].startswith("federated/quicksight/")
    assert "session" not in r.text.replace("SessionName", "")


@lenient({"accept_any_iam_arn": True})
def test_any_iam_arn_is_accepted_and_names_the_user_after_its_last_part(servers):
    faithful, client = servers
    for arn, name in (("not-an-arn", "not-an-arn"), ("arn:aws:s3:::qsconform-bucket", "qsconform-bucket")):
        assert error_of(faithful.register(iam_user(arn))) == (400, "InvalidParameterValueException")
        r = client.register(iam_user(arn))
        assert r.status_code == 201, r.text
        assert r.json()["User"]["UserName"] == name
        assert r.json()["User"]["Arn"].endswith(f":user/default/{name}") and "UserInvitationUrl" not in r.json()
        assert client.describe(name).status_code == 200
    assert client.register(iam_user(f"arn:aws:iam::{ACCOUNT}:user/bob")).json()["User"]["UserName"] == "bob"


@lenient({"accept_custom_oidc_without_url": True})
def test_custom_oidc_without_url_is_accepted_and_stored_without_url(servers):
    faithful, client = servers
    body = quicksight_user("o", ExternalLoginFederationProviderType="CUSTOM_OIDC")
    assert error_of(faithful.register(body)) == (400, "InvalidParameterValueException")
    user = client.register(body).json()["User"]
    assert user["ExternalLoginFederationProviderType"] == "CUSTOM_OIDC"
    assert "ExternalLoginFederationProviderUrl" not in user
    r = client.update("o", {**EDIT, "ExternalLoginFederationProviderType": "CUSTOM_OIDC"})
    assert r.status_code == 200


@lenient({"ignore_url_with_cognito": True})
def test_a_url_with_cognito_is_ignored(servers):
    faithful, client = servers
    body = quicksight_user("c", ExternalLoginFederationProviderType="COGNITO",
                           CustomFederationProviderUrl="https://idp.example.com")
    assert error_of(faithful.register(body)) == (400, "InvalidParameterValueException")
    user = client.register(body).json()["User"]
    assert user["ExternalLoginFederationProviderUrl"] == "cognito-identity.amazonaws.com"
    r = client.update("c", {**EDIT, "ExternalLoginFederationProviderType": "COGNITO",
                            "CustomFederationProviderUrl": "https://other.example.com"})
    assert r.json()["User"]["ExternalLoginFederationProviderUrl"] == "cognito-identity.amazonaws.com"


@lenient({"ignore_url_without_provider_type": True})
def test_a_url_without_provider_type_is_ignored(servers):
    faithful, client = servers
    body = quicksight_user("n", CustomFederationProviderUrl="https://idp.example.com")
    assert error_of(faithful.register(body)) == (400, "InvalidParameterValueException")
    assert "ExternalLoginFederationProviderUrl" not in client.register(body).json()["User"]
    r = client.update("n", {**EDIT, "CustomFederationProviderUrl": "https://idp.example.com"})
    assert r.status_code == 200 and "ExternalLoginFederationProviderUrl" not in r.json()["User"]


@lenient({"accept_any_provider_type": True})
def test_any_provider_type_is_accepted_and_stored(servers):
    faithful, client = servers
    body = quicksight_user("p", ExternalLoginFederationProviderType="SAML", ExternalLoginId="id-1")
    assert error_of(faithful.register(body)) == (400, "InvalidParameterValueException")
    assert client.register(body).json()["User"]["ExternalLoginFederationProviderType"] == "SAML"
    r = client.update("p", {**EDIT, "ExternalLoginFederationProviderType": "okta"})
    assert r.json()["User"]["ExternalLoginFederationProviderType"] == "okta"
    assert error_of(client.register(quicksight_user("p2", UserRole="OWNER")))[0] == 400  # the rest still checked


@lenient({"refuse_external_login_without_role": True})
def test_external_login_without_a_role_is_refused(servers):
    faithful, client = servers
    login = {"ExternalLoginFederationProviderType": "COGNITO", "ExternalLoginId": "id-1"}
    for body in (quicksight_user("x", **login), iam_user(f"arn:aws:iam::{ACCOUNT}:user/bob", **login)):
        assert faithful.register(body).status_code == 201
        assert error_of(client.register(body)) == (400, "InvalidParameterValueException")
    r = client.register(iam_user(ROLE_ARN, SessionName="s1", **login))  # a role session may federate
    assert r.status_code == 201 and r.json()["User"]["ExternalLoginFederationProviderType"] == "COGNITO"
    assert client.update("embedder/s1", {**EDIT, "ExternalLoginFederationProviderType": "NONE"}).status_code == 200
    assert client.register(quicksight_user("q")).status_code == 201
    assert error_of(client.update("q", {**EDIT, **login})) == (400, "InvalidParameterValueException")
    assert error_of(client.update("q", {**EDIT, "ExternalLoginFederationProviderType": "NONE"}))[0] == 400
    assert client.update("q", EDIT).status_code == 200
    # a missing namespace or user is still not found first
    assert error_of(client.register(quicksight_user("y", **login), namespace="other"))[0] == 404
    assert error_of(client.update("nobody", {**EDIT, **login}))[0] == 404


@lenient({"request_id_header": False})
def test_no_request_id_header(servers):
    faithful, client = servers
    assert faithful.register(quicksight_user("h")).headers["x-amzn-RequestId"]
    for r in (client.register(quicksight_user("h")), client.register(quicksight_user("h")), client.update("h", EDIT)):
        assert "x-amzn-RequestId" not in r.headers and r.json()["RequestId"]


@lenient({"invitation_url_scheme": "http"})
def test_an_http_invitation_url(servers):
    faithful, client = servers
    assert faithful.register(quicksight_user("i")).json()["UserInvitationUrl"].startswith("https://")
    assert re.match(r"^http://[^/]+\.amazon\.com/", client.register(quicksight_user("i")).json()["UserInvitationUrl"])
    assert "UserInvitationUrl" not in client.register(iam_user(ROLE_ARN, SessionName="s1")).json()


@lenient({"update_answers_previous_user": True})
def test_update_answers_the_user_before_the_update_and_keeps_the_update(servers):
    faithful, client = servers
    for c in (faithful, client):
        c.register(quicksight_user("u"))
    assert faithful.update("u", EDIT).json()["User"]["Role"] == "AUTHOR"
    r = client.update("u", EDIT)
    assert r.status_code == 200
    assert (r.json()["User"]["Email"], r.json()["User"]["Role"]) == ("qsc@example.com", "READER")
    described = client.describe("u").json()["User"]
    assert (described["Email"], described["Role"]) == ("new@example.com", "AUTHOR")


@lenient({"describe_lags": True})
def test_describe_shows_an_update_one_read_late(servers):
    faithful, client = servers
    client.register(quicksight_user("u"))
    assert client.update("u", EDIT).json()["User"]["Role"] == "AUTHOR"
    assert client.describe("u").json()["User"]["Role"] == "READER"  # the first read lags
    assert client.describe("u").json()["User"]["Role"] == "AUTHOR"
    assert client.describe("u").json()["User"]["Role"] == "AUTHOR"
    client.update("u", {"Email": "e", "Role": "ADMIN"})
    client.delete("u")
    assert client.describe("u").status_code == 404  # deleted is deleted: no stale answer
    client.register(quicksight_user("u"))
    assert client.describe("u").json()["User"]["Role"] == "READER"


@lenient({"update_omits_principal_id": True})
def test_update_answers_without_principal_id(servers):
    faithful, client = servers
    for c in (faithful, client):
        assert "PrincipalId" in c.register(quicksight_user("u")).json()["User"]
    assert "PrincipalId" in faithful.update("u", EDIT).json()["User"]
    assert "PrincipalId" not in client.update("u", EDIT).json()["User"]
    assert "PrincipalId" in client.describe("u").json()["User"]


@pytest.mark.parametrize("error_type", ["ValidationException", "BadRequestException"])
def test_a_deserialisation_failure_with_another_type(error_type):
    with start_reference(deserialisation_error=error_type) as server:
        client = Client(server.url)
        for raw in (b"{", b"[]", b'{"Email": {}, "IdentityType": "QUICKSIGHT", "UserRole": "READER", "UserName": "d"}'):
            assert error_of(client.register(raw=raw)) == (400, error_type)
        client.register(quicksight_user("d"))
        assert error_of(client.update("d", {**EDIT, "UnapplyCustomPermissions": []})) == (400, error_type)
        assert error_of(client.register(quicksight_user("d", UserRole="OWNER"))) == \
            (400, "InvalidParameterValueException")  # constraints keep their own error


@pytest.mark.parametrize("existence_first, account_answer", [
    ("access-denied", (401, "AccessDeniedException")),
    ("access-denied-400", (400, "AccessDeniedException")),
    ("not-found", (404, "ResourceNotFoundException")),
])
def test_existence_is_decided_before_the_members_are_validated(existence_first, account_answer):
    with start_reference() as faithful_server, start_reference(existence_first=existence_first) as server:
        faithful, client = Client(faithful_server.url), Client(server.url)
        for c in (faithful, client):
            assert c.register(quicksight_user("u")).status_code == 201
        for account in ("12345678901", "abcdefghijkl"):  # malformed: no account of the caller's
            assert error_of(faithful.register(quicksight_user("x"), account=account)) == (400, "InvalidParameterValueException")
            assert error_of(client.register(quicksight_user("x"), account=account)) == account_answer
            assert error_of(client.update("u", EDIT, account=account)) == account_answer
        for namespace in ("n" * 65, "a b"):  # malformed: no namespace that exists
            assert error_of(faithful.register(quicksight_user("x"), namespace=namespace))[0] == 400
            for r in (client.register(quicksight_user("x"), namespace=namespace), client.update("u", EDIT, namespace=namespace)):
                assert error_of(r) == (404, "ResourceNotFoundException") and r.json()["ResourceType"] == "NAMESPACE"
        # a well-formed account and namespace: members validated as before
        assert error_of(client.register(quicksight_user("x", UserRole="OWNER"))) == (400, "InvalidParameterValueException")
        assert client.update("u", EDIT).status_code == 200


def test_a_server_may_implement_some_operations_only():
    with start_reference(operations="RegisterUser,UpdateUser,DeleteUser") as server:
        client = Client(server.url)
        assert client.register(quicksight_user("u")).status_code == 201
        assert client.update("u", EDIT).status_code == 200
        assert error_of(client.describe("u")) == (404, "UnknownOperationException")
        assert error_of(client.list()) == (404, "UnknownOperationException")
    with pytest.raises(ValueError, match="DescribeUsers"):
        start_reference(operations=("RegisterUser", "DescribeUsers"))


LENIENT_TESTS = {"existence_first", "accept_session_name_without_iam", "accept_any_iam_arn", "accept_custom_oidc_without_url",
                 "ignore_url_with_cognito", "ignore_url_without_provider_type", "accept_any_provider_type",
                 "refuse_external_login_without_role", "request_id_header", "invitation_url_scheme",
                 "update_answers_previous_user", "describe_lags", "update_omits_principal_id",
                 "deserialisation_error"}


def test_transient_unavailable_answers_every_fifth_request_503_once():
    with start_reference(transient_unavailable=True) as server:
        client = Client(server.url)
        statuses = [client.send("GET", "/nowhere").status_code for _ in range(4)]
        first = client.register(quicksight_user("u"))
        again = client.register(quicksight_user("u"))
    assert statuses == [404, 404, 404, 404]
    assert (first.status_code, parse_error_type(first.headers, first.content, PROTOCOL)) == (503, "ResourceUnavailableException")
    assert first.json()["Message"] and again.status_code == 201  # the same request, retried, is served
