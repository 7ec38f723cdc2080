"""The oracle's fast engine (jsonschema-rs) reads every rule schema as the Python jsonschema library does.

The oracle decides what is generated as valid or invalid, so an engine that disagreed would turn
into false verdicts. Each rule's strict and lenient schema is put to both engines, on requests the
strategies generate and on requests with one member replaced by any JSON value at all.
"""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from qsconform.spec.oracle import OracleConfig, SchemaValidator, Validator, compile_schema, oracle_for, rule_schemas
from qsconform.spec.loader import default_spec
from qsconform.strategies import boundary_examples, invalid_requests, valid_requests

SPEC = default_spec()
OPERATIONS = sorted(SPEC.operations)

# Any JSON value, and a few that are not quite JSON (NaN, huge integers, lone surrogates).
SCALARS = st.none() | st.booleans() | st.integers() | st.integers(-2**70, 2**70) \
    | st.floats(allow_nan=True) | st.text() | st.text(alphabet=st.characters(codec="utf-8")) \
    | st.sampled_from(["\ud800", "aws:x", "AWS:x", "arn:aws:iam::123456789012:role/r", "default", "ADMIN", ""])
ANY_JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.sampled_from(["Key", "Value", "x"]) | st.text(max_size=3), inner, max_size=3),
                        max_leaves=8)

def engines(op_name):
    op = SPEC[op_name]
    pairs = []
    for rule in op.rules:
        for reading, schema in zip(("strict", "lenient"), rule_schemas(op, rule, OracleConfig())):
            if schema is not None:
                pairs.append((f"{rule.id} ({reading})", Validator(schema), compile_schema(schema)))
    return pairs

ENGINES = {op: engines(op) for op in OPERATIONS}

def disagreements(op_name, params):
    return [name for name, python, rust in ENGINES[op_name] if python.is_valid(params) != rust.is_valid(params)]

@pytest.mark.parametrize("op", OPERATIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_both_engines_agree_on_generated_requests(op, data):
    request = data.draw(valid_requests(op, spec=SPEC) | invalid_requests(op, spec=SPEC))
    assert disagreements(op, request.params()) == []

@pytest.mark.parametrize("op", OPERATIONS)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_both_engines_agree_whatever_a_member_holds(op, data):
    params = data.draw(valid_requests(op, spec=SPEC)).params()
    name = data.draw(st.sampled_from(sorted(SPEC[op].members)))
    params[name] = data.draw(ANY_JSON)
    assert disagreements(op, params) == []

def test_the_engines_tell_apart_what_the_keywords_test():
    # The comparison above is only worth something if the keywords bite in both engines.
    cases = [({"x-patternAnchored": "^[a-z]+$"}, "ab", "aB"), ({"x-patternSearch": "^a"}, "ab", "ba"),
             ({"x-maxLengthUtf8": 2}, "ab", "\u00e9a"), ({"x-minLengthUtf8": 2}, "\u00e9", "a"),
             ({"x-uniqueItemMember": "Key"}, [{"Key": "a"}, {"Key": "b"}], [{"Key": "a"}, {"Key": "a"}])]
    for schema, good, bad in cases:
        for engine in (Validator(schema), compile_schema(schema)):
            assert engine.is_valid(good) and not engine.is_valid(bad), schema


@pytest.mark.parametrize("op", OPERATIONS)
def test_text_that_is_not_utf8_is_classified_by_the_python_engine(op, monkeypatch):
    # jsonschema-rs raises on a lone surrogate (UnicodeEncodeError or SystemError, by version):
    # the oracle must classify such a request as the Python library does, never crash.
    oracle = oracle_for(SPEC[op])
    base = next(r for r in boundary_examples(op, spec=SPEC) if r.expected.is_success).params()
    cases = [{**base, name: value} for name in sorted(SPEC[op].members)
             for value in ("\ud800", "a\udfff", ["\ud800"], [{"Key": "\ud800", "Value": "v"}], {"\ud800": 1})]
    got = [oracle.classify(params) for params in cases]
    monkeypatch.setattr(SchemaValidator, "is_valid", SchemaValidator.python_is_valid)  # the Python engine alone
    assert got == [oracle.classify(params) for params in cases]
    assert {c.kind for c in got} >= {"invalid", "ambiguous"}
