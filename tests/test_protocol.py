"""Reading restJson1 answers: error types (the Smithy restJson1 client error-parsing cases), JSON, headers."""
from dataclasses import replace

import pytest

from qsconform.conformance.wire.protocol import Answer, parse_error_type, sanitize_error_type
from qsconform.spec.loader import default_spec

URI = "http://internal.amazon.com/coral/com.amazon.coral.validate/"
JSON = {"Content-Type": "application/json"}
PROTOCOL = default_spec().protocol

# Ids of the form RestJson... are the httpResponseTests of FooError in
# smithy-aws-protocol-tests/model/restJson1/errors.smithy; the others pin the order and edge cases.
ERROR_TYPE_CASES = [
    ("RestJsonFooErrorUsingXAmznErrorType", {"X-Amzn-Errortype": "FooError"}, b"", "FooError"),
    ("RestJsonFooErrorUsingXAmznErrorTypeWithUri", {"X-Amzn-Errortype": f"FooError:{URI}"}, b"", "FooError"),
    ("RestJsonFooErrorUsingXAmznErrorTypeWithUriAndNamespace",
     {"X-Amzn-Errortype": f"aws.protocoltests.restjson#FooError:{URI}"}, b"", "FooError"),
    ("RestJsonFooErrorUsingCode", JSON, b'{"code": "FooError"}', "FooError"),
    ("RestJsonFooErrorUsingCodeAndNamespace", JSON, b'{"code": "aws.protocoltests.restjson#FooError"}', "FooError"),
    ("RestJsonFooErrorUsingCodeUriAndNamespace", JSON,
     f'{{"code": "aws.protocoltests.restjson#FooError:{URI}"}}'.encode(), "FooError"),
    ("RestJsonFooErrorWithDunderType", JSON, b'{"__type": "FooError"}', "FooError"),
    ("RestJsonFooErrorWithDunderTypeAndNamespace", JSON, b'{"__type": "aws.protocoltests.restjson#FooError"}',
     "FooError"),
    ("RestJsonFooErrorWithDunderTypeUriAndNamespace", JSON,
     f'{{"__type": "aws.protocoltests.restjson#FooError:{URI}"}}'.encode(), "FooError"),
    ("RestJsonInvalidGreetingError", {**JSON, "X-Amzn-Errortype": "InvalidGreeting"}, b'{"Message": "Hi"}',
     "InvalidGreeting"),
    ("header-name-any-case", {"x-amzn-errortype": "FooError"}, b"", "FooError"),
    ("header-before-body", {"X-Amzn-ErrorType": "FromHeader"}, b'{"__type": "FromBody", "code": "FromCode"}',
     "FromHeader"),
    ("dunder-type-before-code", JSON, b'{"code": "FromCode", "__type": "FromType"}', "FromType"),
    ("whitespace-stripped", {"X-Amzn-ErrorType": "  FooError \t"}, b"", "FooError"),
    ("empty-header-falls-back-to-body", {"X-Amzn-ErrorType": ""}, b'{"__type": "FooError"}', "FooError"),
    ("non-string-member-ignored", JSON, b'{"__type": {"a": 1}, "code": "FooError"}', "FooError"),
    ("no-error-type", JSON, b'{"Message": "x"}', None),
    ("body-not-json", {"Content-Type": "text/html"}, b"<html>oops</html>", None),
    ("body-json-array", JSON, b'["FooError"]', None),
    ("empty", {}, b"", None),
    ("body-not-utf8", JSON, b'{"__type": "\xff"}', None),
]


@pytest.mark.parametrize("headers,body,expected", [c[1:] for c in ERROR_TYPE_CASES],
                         ids=[c[0] for c in ERROR_TYPE_CASES])
def test_error_type(headers, body, expected):
    assert parse_error_type(headers, body, PROTOCOL) == expected
    assert Answer(500, headers, body, 0.0, protocol=PROTOCOL).error_type == expected


def test_error_type_names_come_from_the_spec():
    protocol = replace(default_spec().protocol, error_type_header="X-Other", error_type_body_members=("kind",))
    assert parse_error_type({"X-Amzn-ErrorType": "A", "X-Other": "B"}, b"", protocol) == "B"
    assert parse_error_type(JSON, b'{"__type": "A", "kind": "C"}', protocol) == "C"


@pytest.mark.parametrize("raw,name", [("a#b#FooError", "FooError"), ("FooError:x#y", "FooError"), (":x", None),
                                      ("ns#", None), (None, None), (3, None)])
def test_sanitize_error_type(raw, name):
    assert sanitize_error_type(raw) == name


def test_response_json_content_type_and_request_id():
    r = Answer(200, {"content-type": "Application/JSON; charset=UTF-8", "X-Amzn-RequestId": "rid-1"},
                 '{"User": {"UserName": "é"}}'.encode(), 0.25, protocol=PROTOCOL)
    assert r.is_json and r.json_body == {"User": {"UserName": "é"}}
    assert r.content_type == "application/json"
    assert r.request_id == "rid-1"
    assert r.headers["CONTENT-TYPE"].startswith("Application")


@pytest.mark.parametrize("body", [b"", b"not json", b"{", b'{"a": NaN}', b"\xff\xfe", b'{"a": 1} trailing'])
def test_response_not_json(body):
    r = Answer(400, {}, body, 0.0, protocol=PROTOCOL)
    assert not r.is_json and r.json_body is None


def test_response_json_null_is_json():
    r = Answer(200, {}, b"null", 0.0, protocol=PROTOCOL)
    assert r.is_json and r.json_body is None


def test_response_without_headers():
    r = Answer(204, {}, b"", 0.0, protocol=PROTOCOL)
    assert r.content_type is None and r.request_id is None and r.error_type is None


def test_response_repr_leaves_out_headers_and_body():
    r = Answer(403, {"X-Secret-Echo": "canary-header-value"}, b'{"Message": "canary-body"}', 0.1, protocol=PROTOCOL)
    assert "canary" not in repr(r)
    assert "403" in repr(r)
