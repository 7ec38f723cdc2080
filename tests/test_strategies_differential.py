"""The strategies judged by an independent reader: the reference server's own validation
(conformance/reference/validate.py), written without the suite's oracle. What the strategies call valid,
it accepts; what they call invalid for a rule it checks, it refuses. The oracle (spec/oracle.py) labels the
requests, so a test that asked the oracle again would prove nothing; this one can fail where the two
readings of the spec part."""
import json

import pytest
from hypothesis import HealthCheck, given, settings

from qsconform.conformance.reference import crossfield
from qsconform.conformance.reference.replies import ApiError
from qsconform.conformance.reference.validate import checker_for, validate
from qsconform.spec.loader import default_spec
from qsconform.strategies import StrategyConfig, boundary_examples, invalid_requests, rules_with_generators, valid_requests

SPEC = default_spec()
CONFIG = StrategyConfig()
OPERATIONS = sorted(SPEC.operations)
SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def checked_by_the_reference(operation: str) -> set[str]:
    """The rule ids the reference's validation checks: member constraints and cross-field rules."""
    members = {r.id for r in SPEC.operations[operation].rules if r.kind == "member"}
    return members | {check_id for check_id, _ in crossfield.CHECKS.get(operation, ())}


def body_of(request):
    if request.raw_body is None:
        return request.body
    try:
        return json.loads(request.raw_body)
    except ValueError:
        return None  # not JSON at all: the server's deserialisation refuses it before validation


def refusal(request) -> ApiError | None:
    try:
        validate(checker_for(SPEC, request.operation), request.path_params, body_of(request),
                 constraint_error="InvalidParameterValueException")
    except ApiError as exc:
        return exc
    return None


@pytest.mark.parametrize("operation", OPERATIONS)
def test_what_the_strategies_call_valid_the_reference_accepts(operation):
    @SETTINGS
    @given(valid_requests(operation, CONFIG, spec=SPEC))
    def accepted(request):
        assert refusal(request) is None, (request.describe(), str(refusal(request)))

    accepted()
    for request in boundary_examples(operation, CONFIG, spec=SPEC):
        if request.expected.is_success:
            assert refusal(request) is None, (request.describe(), str(refusal(request)))


def rule_cases():
    for operation in OPERATIONS:
        checked = checked_by_the_reference(operation)
        for rule_id in sorted(set(rules_with_generators(operation, spec=SPEC)) & checked):
            yield pytest.param(operation, rule_id, id=rule_id)


@pytest.mark.parametrize("operation, rule_id", list(rule_cases()))
def test_what_the_strategies_call_invalid_the_reference_refuses(operation, rule_id):
    @settings(SETTINGS, max_examples=25)
    @given(invalid_requests(operation, rule_id=rule_id, config=CONFIG, spec=SPEC))
    def refused(request):
        assert refusal(request) is not None, request.describe()

    refused()
    for request in boundary_examples(operation, CONFIG, spec=SPEC):
        if request.expected.rule_id == rule_id:
            assert refusal(request) is not None, request.describe()


def test_the_reference_checks_most_input_rules():
    """The differential test above covers what the reference checks; that must be most of what is generated."""
    for operation in OPERATIONS:
        generated = set(rules_with_generators(operation, spec=SPEC))
        assert len(generated & checked_by_the_reference(operation)) >= 0.6 * len(generated), operation
