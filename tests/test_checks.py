"""Every check passes a faithful answer and fails a faulty one (crafted exchanges; end-to-end proofs are in test_verdicts)."""
import json

import pytest
from requests.structures import CaseInsensitiveDict

from qsconform.conformance.judging.checks import CHECKS, NOT_APPLICABLE, Deviation, Exchange, applies, error_answer, run_check
from qsconform.conformance.wire.protocol import Answer
from qsconform.spec.loader import default_spec
from qsconform.spec.request import Expected, Request

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
    return Answer(status=status, headers=CaseInsensitiveDict(h), body=raw, elapsed=0.01,
                    protocol=SPEC.protocol)


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
    ("RegisterUser.response.required-members", response(body={"RequestId": "r"})),
    ("RegisterUser.response.required-members", response(body={**GOOD, "User": {k: v for k, v in GOOD_USER.items() if k != "PrincipalId"}})),
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
            assert run_check(rule, ex) in (None, NOT_APPLICABLE), rule.id


def test_invitation_url_must_be_absent_for_iam_identities():
    iam = {"Email": "a", "IdentityType": "IAM", "UserRole": "READER", "IamArn": "arn:aws:iam::123456789012:user/bob"}
    user = {**GOOD_USER, "UserName": "bob", "IdentityType": "IAM", "Arn": "arn:aws:quicksight:us-east-1:123456789012:user/default/bob"}
    with_url = exchange(response(body={**GOOD, "User": user}), body=iam)
    without = exchange(response(body={"User": user, "RequestId": "r"}), body=iam)
    assert verdict("RegisterUser.response.invitation-url", without) is None
    assert "IAM" in verdict("RegisterUser.response.invitation-url", with_url).message
    assert verdict("RegisterUser.response.arn", without) is None  # IAM names come from the ARN (observed #1, #2)


def test_update_echo_compares_the_path_user_name():
    labels = {**LABELS, "UserName": "qsc-x é/1"}
    body = {"Email": "new@example.com", "Role": "ADMIN"}
    ok = {"User": {**GOOD_USER, "Email": "new@example.com", "Role": "ADMIN"}, "RequestId": "r"}
    bad = {"User": {**GOOD_USER, "Email": "new@example.com", "Role": "ADMIN", "UserName": "qsc-x é%2F1"}, "RequestId": "r"}
    assert verdict("UpdateUser.response.echo", exchange(response(200, ok), UPDATE, body, labels=labels)) is None
    assert "UserName" in verdict("UpdateUser.response.echo", exchange(response(200, bad), UPDATE, body, labels=labels)).message


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
    named = {r.check for op in SPEC.operations.values() for r in op.rules_of("response")}
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


# -- the strength of a deviation: the part of a rule broken may be backed less than the rule --------------

def test_an_answer_of_the_wrong_type_is_as_strong_as_the_answers_an_accepted_one_as_the_rule():
    expected = Expected("error", "RegisterUser.Email.type", answers=tuple(REGISTER.answers("malformed_body")),
                        answers_level="SHOULD")
    odd = {"Content-Type": "application/json", "X-Amzn-ErrorType": "BadRequestException"}
    assert error_answer(exchange(response(400, {"Message": "m"}, odd), expected=expected), {}) == Deviation(
        "answered 400 BadRequestException; expected one of: 400 SerializationException, 400 ValidationException, "
        "400 InvalidParameterValueException", "SHOULD")
    assert error_answer(exchange(response(201), expected=expected), {}).level is None  # the rule's own level
    assert error_answer(exchange(response(500, {"Message": "m"}, {**odd, "X-Amzn-ErrorType": "InternalFailure"}),
                                 expected=expected), {}).level is None


def test_invitation_url_parts_have_their_own_levels():
    missing = exchange(response(body={k: v for k, v in GOOD.items() if k != "UserInvitationUrl"}))
    not_https = exchange(response(body={**GOOD, "UserInvitationUrl": "TBD"}))
    assert verdict("RegisterUser.response.invitation-url", missing).level == "OBSERVED"  # observed #3
    assert verdict("RegisterUser.response.invitation-url", not_https).level == "SHOULD"  # an inference


def test_echo_is_as_strong_as_the_member_broken():
    assert verdict("RegisterUser.response.echo", exchange(response(body=with_user(Email="x")))).level == "OBSERVED"
    assert verdict("RegisterUser.response.echo", exchange(response(body=with_user(UserName="other")))).level == "SHOULD"
    both = verdict("RegisterUser.response.echo", exchange(response(body=with_user(Email="x", UserName="other"))))
    assert both.level == "OBSERVED" and "Email" in both.message and "UserName" in both.message


def test_echo_of_external_login_and_its_clearing():
    body = {"Email": "a@example.com", "IdentityType": "QUICKSIGHT", "UserRole": "AUTHOR", "UserName": "qsc-x é/1",
            "ExternalLoginFederationProviderType": "COGNITO", "ExternalLoginId": "id-1"}
    echoed = with_user(ExternalLoginFederationProviderType="COGNITO", ExternalLoginId="id-1")
    assert verdict("RegisterUser.response.echo", exchange(response(body=echoed), body=body)) is None
    lost = verdict("RegisterUser.response.echo", exchange(response(body=with_user(ExternalLoginFederationProviderType="COGNITO")), body=body))
    assert lost.level == "SHOULD" and "ExternalLoginId" in lost.message
    labels = {**LABELS, "UserName": "qsc-x é/1"}
    none = {"Email": "a@example.com", "Role": "AUTHOR", "ExternalLoginFederationProviderType": "NONE"}
    cleared = {"User": {**GOOD_USER}, "RequestId": "r"}
    kept = {"User": {**GOOD_USER, "ExternalLoginFederationProviderType": "COGNITO", "ExternalLoginId": "id-1"}, "RequestId": "r"}
    assert verdict("UpdateUser.response.echo", exchange(response(200, cleared), UPDATE, none, labels=labels)) is None
    still = verdict("UpdateUser.response.echo", exchange(response(200, kept), UPDATE, none, labels=labels))
    assert still.level == "SHOULD" and "clears it" in still.message
    unapply = {"Email": "a@example.com", "Role": "AUTHOR", "UnapplyCustomPermissions": True}
    with_profile = {"User": {**GOOD_USER, "CustomPermissionsName": "p"}, "RequestId": "r"}
    assert "CustomPermissionsName" in verdict("UpdateUser.response.echo",
                                              exchange(response(200, with_profile), UPDATE, unapply, labels=labels)).message


def test_an_echo_with_nothing_to_compare_is_not_an_example():
    labels = {**LABELS, "UserName": "qsc-x"}
    # An UpdateUser echo always has the path's UserName; a RegisterUser IAM request echoes its identity.
    assert verdict("UpdateUser.response.echo", exchange(response(200, {"RequestId": "r"}), UPDATE, {}, labels=labels))


def test_an_iam_identity_is_named_after_its_arn():
    role = {"Email": "a", "IdentityType": "IAM", "UserRole": "AUTHOR",
            "IamArn": "arn:aws:iam::123456789012:role/Embed", "SessionName": "qsc-1"}
    named = {"User": {**GOOD_USER, "UserName": "Embed/qsc-1", "IdentityType": "IAM"}, "RequestId": "r"}
    wrong = {"User": {**GOOD_USER, "UserName": "qsc-1", "IdentityType": "IAM"}, "RequestId": "r"}
    assert verdict("RegisterUser.response.iam-user-name", exchange(response(body=named), body=role)) is None
    assert "Embed/qsc-1" in verdict("RegisterUser.response.iam-user-name", exchange(response(body=wrong), body=role)).message
    assert verdict("RegisterUser.response.iam-user-name", exchange(response())) is NOT_APPLICABLE


def error(status, error_type, body=None):
    headers = {"Content-Type": "application/json", "X-Amzn-ErrorType": error_type}
    return response(status, {"Message": "m", **(body or {})}, headers)


INVALID = Expected("error", "UpdateUser.Role.enum", answers=(("400", "ValidationException"),))


def test_an_error_type_comes_with_its_status():
    assert verdict("UpdateUser.error.status-matches-type", exchange(error(400, "InvalidParameterValueException"), UPDATE, expected=INVALID)) is None
    assert verdict("UpdateUser.error.status-matches-type", exchange(error(400, "AccessDeniedException"), UPDATE, expected=INVALID)) is None
    wrong = verdict("UpdateUser.error.status-matches-type", exchange(error(422, "InvalidParameterValueException"), UPDATE, expected=INVALID))
    assert wrong.level == "MUST" and "422" in wrong.message
    common = verdict("UpdateUser.error.status-matches-type", exchange(error(422, "ValidationException"), UPDATE, expected=INVALID))
    assert common.level == "SHOULD"  # a common error: its status is AWS's convention, not the model's
    assert verdict("UpdateUser.error.status-matches-type", exchange(error(418, "Teapot"), UPDATE, expected=INVALID)) is NOT_APPLICABLE


def test_an_operation_answers_only_its_own_or_common_errors():
    assert verdict("UpdateUser.error.declared", exchange(error(404, "ResourceNotFoundException", {"ResourceType": "USER"}), UPDATE, expected=INVALID)) is None
    assert verdict("UpdateUser.error.declared", exchange(error(400, "ValidationException"), UPDATE, expected=INVALID)) is None
    assert "ResourceExistsException" in verdict("UpdateUser.error.declared", exchange(error(409, "ResourceExistsException"), UPDATE, expected=INVALID)).message
    assert verdict("RegisterUser.error.declared", exchange(error(409, "ResourceExistsException", {"ResourceType": "USER"}), expected=INVALID)) is None


def test_a_resource_error_names_its_resource_type():
    assert verdict("UpdateUser.error.resource-type", exchange(error(404, "ResourceNotFoundException", {"ResourceType": "USER"}), UPDATE, expected=INVALID)) is None
    assert "ResourceType" in verdict("UpdateUser.error.resource-type", exchange(error(404, "ResourceNotFoundException"), UPDATE, expected=INVALID)).message
    assert verdict("UpdateUser.error.resource-type", exchange(error(400, "ValidationException"), UPDATE, expected=INVALID)) is NOT_APPLICABLE


def test_an_error_body_without_message_is_observed_strength():
    rule = REGISTER.rule("RegisterUser.error.body")
    headers = {"Content-Type": "application/json", "X-Amzn-ErrorType": "ValidationException"}
    assert run_check(rule, exchange(response(400, {"Other": 1}, headers))).level == "OBSERVED"
    assert run_check(rule, exchange(response(400, b"<html>400</html>", {"Content-Type": "text/html"}))).level is None


# -- answers the sources allow to a member violation, and the new checks -------------------------------

def _labelled(rule_id, op=REGISTER):
    rule = op.rule(rule_id)
    return Expected("error", rule_id, answers=tuple(op.answers(rule.outcome)), answers_level=op.answers_level(rule.outcome),
                    answer_members=op.answer_members(rule.outcome))


@pytest.mark.parametrize("op", [REGISTER, UPDATE], ids=["RegisterUser", "UpdateUser"])
def test_a_malformed_account_or_namespace_may_be_looked_up_first(op):
    account, namespace = _labelled(f"{op.name}.AwsAccountId.pattern", op), _labelled(f"{op.name}.Namespace.max_length", op)

    def answer(expected, status, error_type, body=None):
        return error_answer(exchange(error(status, error_type, body), op, expected=expected), {})

    for status, error_type in [(400, "ValidationException"), (400, "InvalidParameterValueException"),
                               (401, "AccessDeniedException"), (400, "AccessDeniedException"),
                               (404, "ResourceNotFoundException")]:
        assert answer(account, status, error_type) is None, (status, error_type)
    assert answer(namespace, 404, "ResourceNotFoundException", {"ResourceType": "NAMESPACE"}) is None
    # a 404 that names no namespace (a server that looked up a user and never read the namespace): advisory
    for body in ({"ResourceType": "USER"}, {}):
        found = answer(namespace, 404, "ResourceNotFoundException", body)
        assert found.level == "SHOULD" and "ResourceType NAMESPACE" in found.message, found
    assert answer(namespace, 401, "AccessDeniedException").level == "SHOULD"  # not what a missing namespace gets
    # accepted: a failure at the rule's own strength (MUST), whatever the order of checks
    assert error_answer(exchange(response(200 if op is UPDATE else 201), op, expected=account), {}).level is None
    assert error_answer(exchange(response(200 if op is UPDATE else 201), op, expected=namespace), {}).level is None


def test_a_member_violation_answered_otherwise_is_advisory_members_that_do_not_go_together_fail():
    member, seen = _labelled("RegisterUser.UserRole.enum"), _labelled("RegisterUser.iam-forbids-username")
    assert error_answer(exchange(error(409, "ResourceExistsException"), expected=member), {}).level == "SHOULD"
    assert error_answer(exchange(error(409, "ResourceExistsException"), expected=seen), {}).level == "OBSERVED"
    assert error_answer(exchange(error(400, "InvalidParameterValueException"), expected=seen), {}) is None


def test_an_update_answering_another_success_status_breaks_only_the_part_about_which():
    ok, labels = {"User": GOOD_USER, "RequestId": "r"}, {**LABELS, "UserName": "qsc-x é/1"}
    body = {"Email": "a@example.com", "Role": "AUTHOR"}
    assert verdict("UpdateUser.response.success-status", exchange(response(200, ok), UPDATE, body, labels=labels)) is None
    assert verdict("UpdateUser.response.success-status", exchange(response(201, ok), UPDATE, body, labels=labels)).level == "SHOULD"
    refused = verdict("UpdateUser.response.success-status", exchange(error(404, "ResourceNotFoundException"), UPDATE, body,
                                                                     labels=labels))
    assert refused.level is None  # not updated at all: the operation's purpose, MUST
    assert verdict("RegisterUser.response.success-status", exchange(response(202))).level is None


COGNITO = {"Email": "a", "IdentityType": "IAM", "UserRole": "READER", "IamArn": "arn:aws:iam::123456789012:role/r",
           "SessionName": "qsc-s", "ExternalLoginFederationProviderType": "COGNITO", "ExternalLoginId": "id-1"}


def test_a_cognito_login_shows_cognito_identity_as_its_provider_url():
    rule = "RegisterUser.response.cognito-provider-url"
    shown = lambda url: exchange(response(body=with_user(ExternalLoginFederationProviderUrl=url)), body=COGNITO)  # noqa: E731
    assert verdict(rule, shown("cognito-identity.amazonaws.com")) is None
    wrong = verdict(rule, shown("cognito-idp.amazonaws.com"))
    assert wrong.level is None and "cognito-idp" in wrong.message  # the page states it: MUST
    assert verdict(rule, exchange(response(), body=COGNITO)).level == "SHOULD"  # left out: the model requires nothing
    assert verdict(rule, exchange(response())) is NOT_APPLICABLE  # no COGNITO login


def test_an_error_body_carries_its_request_id():
    rule = "UpdateUser.error.request-id-body"
    assert verdict(rule, exchange(error(404, "ResourceNotFoundException", {"RequestId": "r"}), UPDATE, expected=INVALID)) is None
    assert "RequestId" in verdict(rule, exchange(error(404, "ResourceNotFoundException"), UPDATE, expected=INVALID)).message
    assert UPDATE.rule(rule).level == "SHOULD"  # the model declares the member and requires it nowhere
    assert verdict(rule, exchange(error(400, "ValidationException"), UPDATE, expected=INVALID)) is NOT_APPLICABLE


def test_the_update_read_back_judges_email_and_role_at_the_rule_level():
    from qsconform.conformance.judging.checks import echo
    labels, body = {**LABELS, "UserName": "qsc-x é/1"}, {"Email": "new@example.com", "Role": "ADMIN"}
    described = {"User": {**GOOD_USER, "Email": "a@example.com"}, "RequestId": "r"}
    ex = exchange(response(200, described), UPDATE, body, labels=labels)
    persists = UPDATE.rule("UpdateUser.lifecycle.update-persists").persists
    assert persists == ("User.Email", "User.Role")
    assert echo(ex, {"at_rule_level": persists}).level in (None, "MUST")  # as strong as update-persists (MUST)
    assert echo(ex, {}).level == "SHOULD"  # what UpdateUser's own answer shows is only an inference
