"""Redaction: credential values and signatures never reach a report."""
from urllib.parse import quote

from botocore.credentials import Credentials

from qsconform.conformance.wire.redact import REDACTED, Redactor, redact

KEY_ID = "AKIACANARYKEYID0001"
SECRET = "canary/Secret+Key/0123456789abcdefABCDEF"
TOKEN = "canaryTOKEN//xyz+abc=="
AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=AKIAOTHERKEY0002/20240229/us-east-1/quicksight/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date, "
                 "Signature=" + "ab12" * 16)


def _clean(text: str) -> bool:
    return all(form not in text for s in (KEY_ID, SECRET, TOKEN) for form in (s, quote(s, safe="")))


def test_redact_plain_and_percent_encoded():
    text = f"id={KEY_ID} secret={SECRET} url=/x?k={quote(SECRET, safe='')} token={quote(TOKEN, safe='')}"
    out = redact(text, [KEY_ID, SECRET, TOKEN])
    assert _clean(out) and out.count(REDACTED) == 4


def test_redact_signature_text_without_knowing_the_keys():
    out = redact(f"Authorization: {AUTHORIZATION}", [])
    assert "AKIAOTHERKEY0002" not in out and "ab12ab12" not in out
    assert "Credential=[REDACTED]/20240229/us-east-1/quicksight/aws4_request" in out  # the scope helps debugging
    assert redact("X-Amz-Security-Token: sometoken123", []) == "X-Amz-Security-Token: [REDACTED]"
    assert redact('{"x-amz-security-token": "sometoken123"}', []) == '{"x-amz-security-token": "[REDACTED]"}'


def test_shell_placeholders_survive():
    line = 'curl --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "X-Amz-Security-Token: $AWS_SESSION_TOKEN"'
    assert redact(line, [KEY_ID]) == line


def test_short_values_are_not_secrets():
    assert redact("a b c abc", ["a", "abc"]) == "a b c abc"


def test_redact_headers():
    headers = {"Authorization": AUTHORIZATION, "X-Amz-Security-Token": TOKEN, "X-Amz-Date": "20240229T235958Z",
               "X-Echo": f"key {KEY_ID}", "Content-Type": "application/json"}
    out = Redactor([KEY_ID]).redact(headers)
    assert out["Authorization"] == REDACTED and out["X-Amz-Security-Token"] == REDACTED
    assert out["X-Amz-Date"] == "20240229T235958Z" and out["Content-Type"] == "application/json"
    assert out["X-Echo"] == f"key {REDACTED}"
    assert headers["Authorization"] == AUTHORIZATION  # a copy


def test_redactor_walks_nested_values():
    r = Redactor()
    r.add_credentials(Credentials(KEY_ID, SECRET, TOKEN))
    doc = {"request": {"headers": {"authorization": AUTHORIZATION, "x": [KEY_ID, (SECRET,)]}, "body": TOKEN.encode()},
           KEY_ID: 1, "n": 3, "none": None}
    out = r.redact(doc)
    assert _clean(repr(out))
    assert out["request"]["headers"]["authorization"] == REDACTED
    assert out["request"]["headers"]["x"] == [REDACTED, (REDACTED,)]
    assert out["request"]["body"] == REDACTED.encode()
    assert out[REDACTED] == 1 and out["n"] == 3 and out["none"] is None


def test_redactor_bytes_not_utf8():
    r = Redactor([SECRET])
    assert r.redact(b"\xff" + SECRET.encode() + b"\x00") == b"\xff" + REDACTED.encode() + b"\x00"


def test_redactor_learns_new_values():
    r = Redactor()
    assert r.redact(f"t={TOKEN}") == f"t={TOKEN}"
    r.add(TOKEN)
    assert r.redact(f"t={TOKEN}") == f"t={REDACTED}"
    assert TOKEN not in repr(r)
