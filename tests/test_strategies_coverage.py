"""Every rule the spec lets the suite break has a generator, is drawn, and has a boundary case;
every enum value and every awkward user-name character shows up in valid requests."""
import pytest
from hypothesis import HealthCheck, Phase, find, settings

from qsconform.spec.loader import default_spec
from qsconform.strategies import StrategyConfig, boundary_examples, invalid_requests, rules_with_generators, valid_requests
from qsconform.strategies.boundaries import members_with_paths
from qsconform.strategies.config import PREFIXED_SHAPES
from qsconform.strategies.context import context_for
from qsconform.strategies.invalid import labelled_rightly, unfiltered
from qsconform.strategies.violations import violations

SPEC = default_spec()
OPERATIONS = sorted(SPEC.operations)
# find() to see that something is drawn: the first example found will do, no shrinking.
FIND = settings(database=None, derandomize=True, max_examples=300, deadline=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.generate])
# Characters a user name may hold that a URI or a form must escape, and two beyond ASCII.
AWKWARD = " /%+?#éÿ"


def breakable(op):
    """The rules the spec says the suite generates violations of."""
    return {r.id for r in op.rules if r.is_input and r.generate_violations}




@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_breakable_rule_has_a_generator(operation):
    op = SPEC[operation]
    have = rules_with_generators(operation, spec=SPEC)
    missing = sorted(breakable(op) - have)
    assert not missing, f"rules with generate_violations true and no generator: {missing}"
    unknown_fate = sorted(have - breakable(op))
    assert not unknown_fate, f"generators for rules whose violations have an unknown fate: {unknown_fate}"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_breakable_rule_is_drawn(operation):
    op = SPEC[operation]
    failures = []
    for rule_id in sorted(breakable(op)):
        try:
            request = find(invalid_requests(operation, rule_id=rule_id, spec=SPEC), lambda r: True, settings=FIND)
        except Exception as exc:  # noqa: BLE001 - reported below, rule by rule
            failures.append(f"{rule_id}: nothing drawn ({type(exc).__name__})")
            continue
        if request.expected.rule_id != rule_id or request.expected.co_broken != op.rule(rule_id).co_broken:
            failures.append(f"{rule_id}: drew {request.expected.rule_id} with {request.expected.co_broken}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_boundary_examples_carry_their_rules_answers(operation):
    """(Whether they are valid or break their rule: the reference judges them, test_strategies_differential.py.)"""
    op = SPEC[operation]
    examples = boundary_examples(operation, spec=SPEC)
    assert examples and any(r.expected.is_success for r in examples)
    for request in examples:
        e = request.expected
        if not e.is_success:
            assert e.co_broken == op.rule(e.rule_id).co_broken
            assert e.answers and all(tuple(a) in {tuple(x) for o in op.common["outcomes"].values() for x in o["answers"]}
                                     for a in e.answers)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_boundary_examples_cover_every_breakable_rule(operation):
    labelled = {r.expected.rule_id for r in boundary_examples(operation, spec=SPEC)}
    missing = sorted(breakable(SPEC[operation]) - labelled)
    assert not missing, f"rules with no boundary example: {missing}"


def valid_enum_values(op):
    """Enum values the spec allows in a valid request: all but those a rule with no condition excludes."""
    excluded = {}
    for rule in op.rules_of("cross"):
        if not rule.when:
            for name, cond in rule.then.get("members", {}).items():
                excluded.setdefault(name, set()).update(cond.get("not_in", []))
    return {(m.name, v) for m in op.members.values() for v in m.constraints.get("enum", ())
            if v not in excluded.get(m.name, set())}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_boundary_examples_cover_every_valid_enum_value(operation):
    op = SPEC[operation]
    seen = {(n, v) for r in boundary_examples(operation, spec=SPEC) if r.expected.is_success
            for n, v in r.params().items() if isinstance(v, str)}
    missing = sorted(valid_enum_values(op) - seen)
    assert not missing, f"enum values in no valid boundary example: {missing}"


def values_at(params, path):
    """Every value at a rule path ("Tags[].Key") of a flat request."""
    values = [params]
    for part in path.replace("[]", ".[]").split("."):
        if part == "[]":
            values = [i for v in values if isinstance(v, list) for i in v]
        else:
            values = [v[part] for v in values if isinstance(v, dict) and part in v]
    return values


@pytest.mark.parametrize("operation", OPERATIONS)
def test_boundary_examples_reach_both_length_bounds(operation):
    """Each bounded string member of the body, nested ones too: its shortest and its longest valid value,
    the longest within the bound in UTF-8 bytes as well."""
    examples = [r.params() for r in boundary_examples(operation, spec=SPEC) if r.expected.is_success]
    for path, m in members_with_paths(SPEC[operation].members.values()):
        c = m.constraints
        if m.location == "uri" or m.type != "string" or "enum" in c or "max_length" not in c:
            continue
        values = [v for p in examples for v in values_at(p, path) if isinstance(v, str)]
        if not values:
            continue  # a member no valid request carries under this configuration (a profile nobody configured)
        prefix = len(StrategyConfig().user_prefix) if m.shape in PREFIXED_SHAPES else 0
        lengths = {len(v) for v in values}
        assert max(c.get("min_length", 0), prefix) in lengths and c["max_length"] in lengths, (path, sorted(lengths))
        assert all(len(v.encode("utf-8")) <= c["max_length"] for v in values), path


@pytest.mark.parametrize("operation", OPERATIONS)
def test_user_names_with_awkward_characters_are_valid_cases(operation):
    op = SPEC[operation]
    names = [m.name for m in op.members.values() if m.shape == "UserName"]
    assert names
    boundary = "".join(r.params()[n] for r in boundary_examples(operation, spec=SPEC) if r.expected.is_success
                       for n in names if isinstance(r.params().get(n), str))
    assert set(AWKWARD) <= set(boundary), sorted(set(AWKWARD) - set(boundary))
    for ch in AWKWARD:
        # A thousand draws, not FIND's 300: one character of a large alphabet in one member; and what Hypothesis
        # draws depends on the modules the process has loaded (it mixes constants found in them into its draws).
        found = find(valid_requests(operation, spec=SPEC), lambda r: any(ch in str(r.params().get(n, "")) for n in names),
                     settings=settings(FIND, max_examples=1000))
        assert all(str(found.params()[n]).startswith("qsc-") for n in names if n in found.params())


def test_every_prefixed_shape_member_of_a_valid_boundary_example_has_the_prefix():
    config = StrategyConfig(user_prefix="qsc-0badc0de-")
    for operation in OPERATIONS:
        members = SPEC[operation].members
        for r in boundary_examples(operation, config, spec=SPEC):
            if r.expected.is_success:
                for n, v in r.params().items():
                    if members[n].shape in PREFIXED_SHAPES:
                        assert v.startswith(config.user_prefix), (operation, n, v)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_mutation_operator_yields_labelled_requests(operation):
    """Each operator on its own (not only some operator per rule) makes requests the oracle agrees with."""
    ctx = context_for(operation, StrategyConfig(), spec=SPEC)
    failures = []
    for v in violations(ctx):
        try:
            request = find(unfiltered(ctx, v), lambda r: labelled_rightly(ctx, r), settings=FIND)
        except Exception as exc:  # noqa: BLE001 - reported below, operator by operator
            failures.append(f"{v.rule.id} {v.operator}: no correctly labelled request ({type(exc).__name__})")
            continue
        assert request.expected.operator == v.operator
    assert not failures, "\n".join(failures)
