"""Each faithful variant of the reference server changes exactly what it says, and nothing else.

The same script of requests goes to the default server and to each variant;
the answers must agree once the variant's own additions (which the test
checks are there) are taken out.
"""
import pytest

from conformance.protocol import parse_error_type
from conformance.reference import VARIANTS, Variant, start_reference
from conformance.reference.client import Client, quicksight_user

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
        assert body.pop("__type") == variant.spell_error_type(parse_error_type(response.headers, response.content)), what
    return body


@pytest.mark.parametrize("name,options", VARIANTS, ids=[name for name, _ in VARIANTS])
def test_a_variant_changes_exactly_what_it_says(faithful, name, options):
    variant = Variant(**options)
    for (what, expected), (_, got) in zip(faithful, answers(options)):
        assert got.status_code == expected.status_code, what
        assert got.headers["x-amzn-RequestId"] and got.headers["Content-Type"] == "application/json", what
        error_type = parse_error_type(expected.headers, expected.content)
        if error_type == "InvalidParameterValueException" and what in CONSTRAINT_STEPS:
            error_type = variant.constraint_error
        assert parse_error_type(got.headers, got.content) == error_type, what
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
