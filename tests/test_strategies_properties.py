"""Properties of the strategies as Hypothesis strategies: a shrunk example is still one the reference refuses, a seed fixes the
sequence, boundary cases do not depend on the process, and the oracle's final filter rarely refuses."""
import collections
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, find, given, seed, settings, strategies as st

from qsconform.spec.loader import default_spec
from qsconform.strategies import StrategyConfig, boundary_examples, invalid_requests, valid_requests
from qsconform.strategies.context import context_for
from qsconform.strategies.invalid import labelled_rightly, unfiltered
from qsconform.strategies.valid import labelled_valid, unfiltered_valid_requests
from qsconform.strategies.violations import violations
from test_strategies_differential import body_of, refusal

SPEC = default_spec()
OPERATIONS = sorted(SPEC.operations)
QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def shrink_cases():
    """Rules of every sort, per operation: a URI label's, a list item member's, a cross-field rule, the protocol's."""
    cases = []
    for name in OPERATIONS:
        op = SPEC[name]
        uri = {m.name for m in op.uri_members}
        picks = [
            next((r for r in op.rules if r.kind == "member" and r.generate_violations and r.member in uri
                  and r.constraint == "pattern"), None),
            next((r for r in op.rules if r.kind == "member" and r.generate_violations and "[]." in r.member), None),
            next((r for r in op.rules if r.kind == "cross" and r.generate_violations), None),
            next((r for r in op.rules if r.kind == "protocol"), None),
        ]
        cases += [(name, r.id) for r in picks if r is not None]
    return cases


@pytest.mark.parametrize("operation, rule_id", shrink_cases())
def test_shrinking_keeps_the_label(operation, rule_id):
    """The minimal example Hypothesis shrinks to is still invalid, as the reference server's own validation reads it
    (the strategies keep only what the oracle labels so: asking the oracle would prove nothing)."""
    op = SPEC[operation]
    required_body = sum(1 for m in op.body_members if m.required)

    def busy(request):
        # Something to shrink away: an optional member next to the violation.
        return isinstance(request.body, dict) and len(request.body) > required_body

    minimal = find(invalid_requests(operation, rule_id=rule_id, spec=SPEC), busy,
                   settings=settings(database=None, derandomize=True, max_examples=200, deadline=None,
                                     suppress_health_check=QUIET, phases=[Phase.generate, Phase.shrink]))
    if op.rule(rule_id).kind == "protocol":  # refused by the server's deserialisation, before any validation
        assert minimal.raw_body is not None and not isinstance(body_of(minimal), dict), minimal.describe()
    else:
        assert refusal(minimal) is not None, minimal.describe()


def test_shrinking_a_failing_test_reports_a_correctly_labelled_example():
    """As the runner uses it: a property that fails; the example Hypothesis reports is still one the reference
    refuses."""
    reported = []

    @settings(database=None, derandomize=True, max_examples=100, deadline=None, suppress_health_check=QUIET,
              phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False)
    @given(invalid_requests("RegisterUser", rule_id="RegisterUser.iam-forbids-username", spec=SPEC))
    def fails_on_long_emails(request):
        reported.append(request)
        assert len(request.body.get("Email", "")) < 3

    with pytest.raises(AssertionError):
        fails_on_long_emails()
    final = reported[-1]
    assert len(final.body["Email"]) >= 3  # the failing example, after shrinking
    assert final.expected.rule_id == "RegisterUser.iam-forbids-username" and refusal(final) is not None


def draw_sequence(strategy, n=12):
    seen = []

    @seed(20240611)
    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=QUIET, phases=[Phase.generate])
    @given(strategy)
    def collect(request):
        seen.append(repr(request))

    collect()
    return seen


@pytest.mark.parametrize("operation", OPERATIONS)
def test_same_seed_same_requests(operation):
    for make in (lambda: valid_requests(operation, spec=SPEC), lambda: invalid_requests(operation, spec=SPEC)):
        first, second = draw_sequence(make()), draw_sequence(make())
        assert first == second and len(first) >= 10


BOUNDARY_DIGEST = """
import hashlib, json
from qsconform.spec.loader import default_spec
from qsconform.strategies import boundary_examples, StrategyConfig
out = {}
for op in %r:
    reqs = boundary_examples(op, StrategyConfig(user_prefix="qsc-feedf00d-"), spec=default_spec())
    out[op] = hashlib.sha256("\\n".join(repr(r) for r in reqs).encode()).hexdigest()
print(json.dumps(out))
"""


def test_boundary_examples_do_not_depend_on_the_process():
    """No randomness, no dependence on hash seeds (set order): two processes give the same list."""
    digests = []
    for hash_seed in ("1", "4242"):
        out = subprocess.run([sys.executable, "-c", BOUNDARY_DIGEST % (OPERATIONS,)], capture_output=True, text=True,
                             env={"PYTHONHASHSEED": hash_seed, "PATH": ""}, cwd=str(SPEC.directory.parent), check=True)
        digests.append(json.loads(out.stdout))
    assert digests[0] == digests[1]
    again = [repr(r) for r in boundary_examples(OPERATIONS[0], StrategyConfig(user_prefix="qsc-feedf00d-"), spec=SPEC)]
    assert again == [repr(r) for r in boundary_examples(OPERATIONS[0], StrategyConfig(user_prefix="qsc-feedf00d-"), spec=SPEC)]


# -- how often the oracle's final filter refuses what was built --------------------------------------------

MAX_REJECTED = 0.10


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("config", [StrategyConfig(), StrategyConfig(live_safe=True)], ids=["default", "live-safe"])
def test_valid_requests_rarely_need_the_filter(operation, config):
    ctx = context_for(operation, config, spec=SPEC)
    counts = collections.Counter()

    @settings(max_examples=150, database=None, deadline=None, suppress_health_check=QUIET, phases=[Phase.generate])
    @given(unfiltered_valid_requests(ctx))
    def count(request):
        counts[labelled_valid(ctx, request) is not None] += 1

    count()
    rejected = counts[False] / sum(counts.values())
    assert rejected < MAX_REJECTED, f"{rejected:.0%} of built requests refused by the oracle"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_invalid_requests_rarely_need_the_filter(operation):
    ctx = context_for(operation, StrategyConfig(), spec=SPEC)
    counts = collections.Counter()
    every = st.sampled_from(violations(ctx)).flatmap(lambda v: unfiltered(ctx, v))

    @settings(max_examples=300, database=None, deadline=None, suppress_health_check=QUIET, phases=[Phase.generate])
    @given(every)
    def count(request):
        counts[labelled_rightly(ctx, request)] += 1

    count()
    rejected = counts[False] / sum(counts.values())
    assert rejected < MAX_REJECTED, f"{rejected:.0%} of built invalid requests refused by the oracle"
