"""Every check passes a faithful answer and fails a faulty one (crafted exchanges; end-to-end proofs are in test_verdicts)."""
import json

import pytest
from requests.structures import CaseInsensitiveDict

from conformance.checks import CHECKS, Exchange, applies, error_answer, run_check
from conformance.protocol import Response
from conformance.spec import default_spec
from strategies.request import Expected, Request

SPEC = default_spec()
REGISTER, UPDATE = SPEC["RegisterUser"], SPEC["UpdateUser"]
LABELS = {"AwsAccountId": "123456789012", "Namespace": "default"}
BODY = {"Email": "a@example.com", "IdentityType": "QUICKSIGHT", "UserRole": "AUTHOR", "UserName": "qsc-x é/1"}
GOOD_USER = {"Arn": "arn:aws:quicksight:us-east-1:123456789012:user/default/qsc-x é/1", "UserName": "qsc-x é/1",
             "Email": "a@example.com", "Role": "AUTHOR", "IdentityType": "QUICKSIGHT", "Active": False,
             "PrincipalId": "federated/quicksight/abc"}
GOOD = {"User": GOOD_USER, "UserInvitationUrl": "https://us-east-1.quicksight.aws.amazon.com/sn/start?x=1",
        "RequestId": "r-1", "FutureMember": {"added": "later"}}


def response(status=201, body=GOOD, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": "application/json", "x-amzn-RequestId": "r-1"} if headers is None else headers
    return Response(status=status, headers=CaseInsensitiveDict(h), body=raw, elapsed=0.01)


def exchange(resp, op=REGISTER, body=BODY, expected=Expected("success"), labels=LABELS):
    return Exchange(op=op, request=Request(op.name, dict(labels), dict(body), expected), response=resp, region="us-east-1")


def verdict(rule_id, ex):
    op = SPEC[rule_id.split(".")[0]]
    return run_check(op.rule(rule_id), ex)


def with_user(**changes):
    return {**GOOD, "User": {**GOOD_USER, **changes}}


@pytest.mark.parametrize("rule_id, faulty", [
    ("RegisterUser.response.success-status", response(status=202)),
    ("RegisterUser.response.status-observed", response(status=200)),
    ("RegisterUser.response.content-type", response(headers={"Content-Type": "text/html; charset=utf-8", "x-amzn-RequestId": "r"})),
    ("RegisterUser.response.schema", response(body=with_user(Active="no"))),
    ("RegisterUser.response.schema", response(body={"RequestId": "r"})),
    ("RegisterUser.response.schema", response(body=b"<html>ok</html>")),
    ("RegisterUser.response.request-id-body", response(body={k: v for k, v in GOOD.items() if k != "RequestId"})),
    ("RegisterUser.response.request-id-header", response(headers={"Content-Type": "application/json"})),
    ("RegisterUser.response.echo", response(body=with_user(Email="A@EXAMPLE.COM"))),
    ("RegisterUser.response.echo", response(body=with_user(Role="READER"))),
    ("RegisterUser.response.arn", response(body=with_user(Arn="arn:aws:quicksight:eu-west-1:123456789012:user/default/qsc-x é/1"))),
    ("RegisterUser.response.arn", response(body=with_user(Arn="arn:aws:quicksight:us-east-1:123456789012:user/other/qsc-x é/1"))),
    ("RegisterUser.response.invitation-url", response(body={k: v for k, v in GOOD.items() if k != "UserInvitationUrl"})),
    ("RegisterUser.response.invitation-url", response(body={**GOOD, "UserInvitationUrl": "TBD"})),
    ("RegisterUser.response.new-user-inactive", response(body=with_user(Active=True))),
    ("RegisterUser.response.no-server-error", response(status=500, body={"Message": "boom"})),
])
def test_each_response_check_fails_a_faulty_answer_and_passes_a_faithful_one(rule_id, faulty):
    assert verdict(rule_id, exchange(response())) is None
    assert verdict(rule_id, exchange(faulty))


def test_status_in_body_and_unknown_members_are_tolerated():
    body = {**GOOD, "Status": 201, "Extra": [1, 2]}
    for rule in REGISTER.rules_of("response"):
        ex = exchange(response(body=body))
        if applies(rule, ex):
            assert run_check(rule, ex) is None, rule.id


def test_invitation_url_must_be_absent_for_iam_identities():
    iam = {"Email": "a", "IdentityType": "IAM", "UserRole": "READER", "IamArn": "arn:aws:iam::123456789012:user/bob"}
    user = {**GOOD_USER, "UserName": "bob", "IdentityType": "IAM", "Arn": "arn:aws:quicksight:us-east-1:123456789012:user/default/bob"}
    with_url = exchange(response(body={**GOOD, "User": user}), body=iam)
    without = exchange(response(body={"User": user, "RequestId": "r"}), body=iam)
    assert verdict("RegisterUser.response.invitation-url", without) is None
    assert "IAM" in verdict("RegisterUser.response.invitation-url", with_url)
    assert verdict("RegisterUser.response.arn", without) is None  # IAM names come from the ARN (observed #1, #2)


def test_update_echo_compares_the_path_user_name():
    labels = {**LABELS, "UserName": "qsc-x é/1"}
    body = {"Email": "new@example.com", "Role": "ADMIN"}
    ok = {"User": {**GOOD_USER, "Email": "new@example.com", "Role": "ADMIN"}, "RequestId": "r"}
    bad = {"User": {**GOOD_USER, "Email": "new@example.com", "Role": "ADMIN", "UserName": "qsc-x é%2F1"}, "RequestId": "r"}
    assert verdict("UpdateUser.response.echo", exchange(response(200, ok), UPDATE, body, labels=labels)) is None
    assert "UserName" in verdict("UpdateUser.response.echo", exchange(response(200, bad), UPDATE, body, labels=labels))


def test_error_answer_accepts_every_allowed_answer_and_nothing_else():
    answers = tuple(REGISTER.answers("invalid_value"))
    expected = Expected("error", "RegisterUser.UserRole.enum", answers=answers)
    for status, error_type in answers:
        headers = {"Content-Type": "application/json", "X-Amzn-ErrorType": f"{error_type}:http://internal.amazon.com/"}
        assert error_answer(exchange(response(status, {"Message": "m"}, headers), expected=expected), {}) is None
    for status, error_type in [(200, ""), (201, ""), (404, "ResourceNotFoundException"), (400, "InvalidParameterException"),
                               (500, "InternalFailure"), (400, "")]:
        headers = {"Content-Type": "application/json", **({"X-Amzn-ErrorType": error_type} if error_type else {})}
        assert error_answer(exchange(response(status, {"Message": "m"}, headers), expected=expected), {})


def test_error_body_needs_json_with_a_message():
    rule = REGISTER.rule("RegisterUser.error.body")
    headers = {"Content-Type": "application/json", "X-Amzn-ErrorType": "ValidationException"}
    assert run_check(rule, exchange(response(400, {"Message": "bad"}, headers))) is None
    assert run_check(rule, exchange(response(400, {"message": "bad"}, headers))) is None  # botocore reads both
    assert run_check(rule, exchange(response(400, {"Other": 1}, headers)))
    assert run_check(rule, exchange(response(400, b"<html>400</html>", {"Content-Type": "text/html"})))


def test_every_check_the_spec_names_is_registered():
    named = {r.data["check"] for r in SPEC.rules if r.kind == "response"}
    assert named <= set(CHECKS), named - set(CHECKS)


def test_a_valid_request_refused_is_judged_by_the_status_rules_only():
    refused = exchange(response(404, b"<html>Not Found</html>", {"Content-Type": "text/html"}))
    judged = {r.id for r in REGISTER.rules_of("response") if applies(r, refused)}
    assert {"RegisterUser.response.success-status", "RegisterUser.response.status-observed",
            "RegisterUser.response.no-server-error"} <= judged
    assert "RegisterUser.response.echo" not in judged and "RegisterUser.error.body" not in judged
    assert verdict("RegisterUser.response.success-status", refused)
    invalid = exchange(response(400, {"Message": "m"}), expected=Expected("error", "RegisterUser.UserRole.enum"))
    judged = {r.id for r in REGISTER.rules_of("response") if applies(r, invalid)}
    assert "RegisterUser.error.body" in judged and "RegisterUser.response.success-status" not in judged
