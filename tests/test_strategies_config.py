"""What the run's configuration changes: prefixes, live-safe identities, configured ARNs, users and profiles."""
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from qsconform.spec.loader import default_spec
from qsconform.spec.model import MemberRule
from qsconform.strategies import StrategyConfig, boundary_examples, invalid_requests, valid_requests
from qsconform.strategies.config import PREFIXED_SHAPES

SPEC = default_spec()
PREFIX = "qsc-9f8e7d6c-"
ROLE = "arn:aws:iam::123456789012:role/qs-embedding"
USER = "arn:aws:iam::123456789012:user/qs-alice"
IAM_ARN = re.compile(r"arn:aws[a-z-]*:iam::")
SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def named_users(request):
    """The values of members that name a user a server could create."""
    members = SPEC[request.operation].members
    return {n: v for n, v in request.params().items() if members[n].shape in PREFIXED_SHAPES}


def any_request(config, operation="RegisterUser"):
    return st.one_of(valid_requests(operation, config, spec=SPEC), invalid_requests(operation, config, spec=SPEC),
                     st.sampled_from(boundary_examples(operation, config, spec=SPEC)))


def test_live_safe_without_arns_registers_quicksight_identities_only():
    config = StrategyConfig(user_prefix=PREFIX, live_safe=True)

    @SETTINGS
    @given(valid_requests("RegisterUser", config, spec=SPEC))
    def valid(request):
        assert request.body["IdentityType"] == "QUICKSIGHT"
        assert "IamArn" not in request.body and "SessionName" not in request.body
        assert request.body["UserName"].startswith(PREFIX)

    @SETTINGS
    @given(any_request(config))
    def no_arn_ever(request):
        # Invalid requests too: nothing that names an IAM identity is ever sent.
        for value in request.params().values():
            assert not (isinstance(value, str) and IAM_ARN.match(value)), value

    valid()
    no_arn_ever()
    successes = [r for r in boundary_examples("RegisterUser", config, spec=SPEC) if r.expected.is_success]
    assert successes and {r.body["IdentityType"] for r in successes} == {"QUICKSIGHT"}


def test_live_safe_with_arns_uses_only_them_and_prefixes_session_names():
    config = StrategyConfig(user_prefix=PREFIX, live_safe=True, iam_arns=(ROLE, USER))

    @SETTINGS
    @given(any_request(config))
    def check(request):
        for value in request.params().values():
            if isinstance(value, str) and IAM_ARN.match(value):
                assert value in config.iam_arns, value
        if request.expected.is_success:
            body = request.body
            assert body["IdentityType"] in ("QUICKSIGHT", "IAM")
            if body.get("IamArn") == ROLE:
                assert body["SessionName"].startswith(PREFIX)
            if body.get("IamArn") == USER:
                assert "SessionName" not in body

    check()
    identities = {(r.body["IdentityType"], r.body.get("IamArn")) for r in boundary_examples("RegisterUser", config, spec=SPEC)
                  if r.expected.is_success}
    assert ("IAM", ROLE) in identities or ("IAM", USER) in identities


def test_local_targets_get_synthetic_arns_of_the_account():
    config = StrategyConfig(account_id="210987654321", synthetic_iam_arns=True)

    @SETTINGS
    @given(valid_requests("RegisterUser", config, spec=SPEC))
    def check(request):
        arn = request.body.get("IamArn")
        if arn is not None:
            assert re.fullmatch(r"arn:aws:iam::210987654321:(user|role)/qsc-[a-z0-9]+", arn), arn
            assert ("SessionName" in request.body) == (":role/" in arn)
        assert request.path_params["AwsAccountId"] == "210987654321"

    check()


@pytest.mark.parametrize("operation", sorted(SPEC.operations))
def test_user_names_carry_the_prefix_unless_the_violation_is_on_them(operation):
    config = StrategyConfig(user_prefix=PREFIX)

    @SETTINGS
    @given(any_request(config, operation))
    def check(request):
        rule = SPEC[operation].rule(request.expected.rule_id) if request.expected.rule_id else None
        violated = rule.member if isinstance(rule, MemberRule) else ""
        for name, value in named_users(request).items():
            if name != violated.split("[]")[0].split(".")[0]:
                assert isinstance(value, str) and value.startswith(PREFIX), (name, value, request.expected)

    check()


def test_updates_name_the_configured_existing_users():
    names = ("qsc-existing-1", "qsc-existing-2")
    config = StrategyConfig(update_user_names=names)

    @SETTINGS
    @given(any_request(config, "UpdateUser"))
    def check(request):
        rule = request.expected.rule_id or ""
        if not rule.startswith("UpdateUser.UserName."):
            assert request.path_params["UserName"] in names

    check()
    # Every boundary example too: the bounds of UserName probed on a valid request ("qsc-", the
    # longest name) are valid names, but not names of the configured users.
    for request in boundary_examples("UpdateUser", config, spec=SPEC):
        check.hypothesis.inner_test(request)


def test_namespace_and_profile_come_from_the_configuration():
    config = StrategyConfig(namespace="team-a", custom_permissions_name="qsc-profile")
    seen_profile = []

    @SETTINGS
    @given(valid_requests("UpdateUser", config, spec=SPEC))
    def check(request):
        assert request.path_params["Namespace"] == "team-a"
        assert request.body.get("CustomPermissionsName", "qsc-profile") == "qsc-profile"
        seen_profile.append("CustomPermissionsName" in request.body)

    check()
    assert any(seen_profile)
    missing = [r for r in boundary_examples("UpdateUser", config, spec=SPEC) if r.expected.rule_id == "UpdateUser.namespace-must-exist"]
    assert missing and all(r.path_params["Namespace"] != "team-a" for r in missing)


def test_without_a_profile_no_valid_request_names_one():
    @SETTINGS
    @given(st.one_of(valid_requests("RegisterUser", spec=SPEC), valid_requests("UpdateUser", spec=SPEC)))
    def check(request):
        assert "CustomPermissionsName" not in request.body

    check()


def test_missing_namespace_is_the_configured_one():
    config = StrategyConfig(missing_namespace="qsc-no-such-namespace")

    @SETTINGS
    @given(invalid_requests("UpdateUser", config, rule_id="UpdateUser.namespace-must-exist", spec=SPEC))
    def check(request):
        assert request.path_params["Namespace"] == "qsc-no-such-namespace"
        assert request.expected.answers == ((404, "ResourceNotFoundException"),)

    check()
