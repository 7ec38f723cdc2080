"""Valid and invalid requests have the shape their label promises: the operation, its URI labels, names under the
run's prefix, the rule's co-broken rules and answers. Whether they are valid or break their rule is judged by
the reference server's own validation in test_strategies_differential.py: the strategies keep only what the
oracle labels so, so asking the oracle again here could not fail."""
import pytest
from hypothesis import HealthCheck, given, settings

from qsconform.spec.loader import default_spec
from qsconform.strategies import StrategyConfig, invalid_requests, valid_requests

SPEC = default_spec()
OPERATIONS = sorted(SPEC.operations)
PREFIX = "qsc-1a2b3c4d-"
ROLE = "arn:aws:iam::123456789012:role/qs-embedding"
USER = "arn:aws:iam::123456789012:user/qs-alice"
CONFIGS = {
    "default": StrategyConfig(),
    "run-prefix": StrategyConfig(user_prefix=PREFIX),
    "live-safe": StrategyConfig(user_prefix=PREFIX, live_safe=True),
    "live-safe-configured": StrategyConfig(user_prefix=PREFIX, live_safe=True, iam_arns=(ROLE, USER),
                                           custom_permissions_name="qsc-profile"),
    "no-synthetic-arns": StrategyConfig(synthetic_iam_arns=False, namespace="team-a"),
}
# Drawing a request runs the oracle and the repair of cross-field rules: slower than Hypothesis expects.
FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def user_names(request):
    """The values that name a user a server could create: members of the prefixed shapes."""
    from qsconform.strategies.config import PREFIXED_SHAPES
    members = SPEC[request.operation].members
    return {n: v for n, v in request.params().items() if n in members and members[n].shape in PREFIXED_SHAPES}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_valid_requests_are_valid(operation, config_name):
    config = CONFIGS[config_name]

    @FAST
    @given(valid_requests(operation, config, spec=SPEC))
    def check(request):
        assert request.operation == operation
        assert request.expected.is_success and request.raw_body is None
        assert set(request.path_params) == {m.name for m in SPEC[operation].uri_members}
        for name, value in user_names(request).items():
            assert isinstance(value, str) and value.startswith(config.user_prefix), (name, value)

    check()


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("config_name", ["default", "live-safe", "live-safe-configured"])
def test_invalid_requests_break_exactly_their_rule(operation, config_name):
    config = CONFIGS[config_name]
    op = SPEC[operation]
    outcomes = op.common["violation_outcomes"]

    @FAST
    @given(invalid_requests(operation, config, spec=SPEC))
    def check(request):
        e = request.expected
        assert e.kind == "error" and e.rule_id.startswith(operation + ".")
        rule = op.rule(e.rule_id)
        assert e.co_broken == rule.co_broken
        if e.operator == "null":
            outcome = outcomes["null"]
        elif e.operator.startswith("wrong_type:"):
            outcome = outcomes["type"]
        else:
            outcome = rule.outcome
        assert e.answers == tuple(tuple(a) for a in op.answers(outcome))

    check()


def test_answers_follow_the_outcome_classes():
    """Spot checks against the spec's data: null and wrong types are malformed bodies; a user name in
    the URI that breaks its pattern may be answered as not found."""
    malformed = {tuple(a) for a in SPEC.common["outcomes"]["malformed_body"]["answers"]}
    either = {tuple(a) for a in SPEC.common["outcomes"]["invalid_or_not_found"]["answers"]}

    @FAST
    @given(invalid_requests("RegisterUser", rule_id="RegisterUser.Email.required", spec=SPEC))
    def null_or_missing(request):
        if request.expected.operator == "null":
            assert request.body["Email"] is None and set(request.expected.answers) == malformed
        else:
            assert "Email" not in request.body

    @FAST
    @given(invalid_requests("UpdateUser", rule_id="UpdateUser.UserName.pattern", spec=SPEC))
    def label(request):
        assert set(request.expected.answers) == either

    null_or_missing()
    label()


def test_unknown_operation_and_rule_are_refused():
    with pytest.raises(ValueError, match="unknown operation"):
        valid_requests("DeleteEverything", spec=SPEC)
    with pytest.raises(ValueError, match="no operator breaks"):
        invalid_requests("RegisterUser", rule_id="RegisterUser.tag-keys-unique", spec=SPEC)
