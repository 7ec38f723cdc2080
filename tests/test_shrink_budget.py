"""A failed rule is shrunk for its profile's shrinking time, then the smallest failing request found is reported."""
import math

import pytest

from qsconform.conformance.engine.rule_runner import RuleRunner
from qsconform.conformance.engine.run import Run
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec

SPEC = default_spec()
RULE = "RegisterUser.response.echo"  # broken under the fault by an e-mail address with a capital letter


def judge_with_budget(monkeypatch, seconds):
    # No boundary examples: the failure must come from a drawn request, which Hypothesis then shrinks.
    monkeypatch.setattr(RuleRunner, "examples_for", lambda self, rule: [])
    with open_target("reference", reference_options={"faults": ("email-lowercased",)}) as target:
        transport = Transport(target, SPEC)
        run = Run(RunConfig(target="reference", profile="quick", seed=3,
                            shrink_seconds=math.inf if seconds is None else seconds), SPEC, target, transport)
        sends = []
        transport.observers.append(lambda sent: sends.append(sent.operation == "RegisterUser" and run.runner.state.failed_at is not None))
        rule = SPEC["RegisterUser"].rule(RULE)
        run.runner.run_property(rule, run.runner.hypothesis_test(rule))
        run.cleanup()
    assert run.results.rules[RULE].status == "failed"
    return sends.count(True), run.results.rules[RULE].example


def test_once_the_time_is_up_only_the_final_replay_is_sent(monkeypatch):
    after_failure, example = judge_with_budget(monkeypatch, 0.0)
    assert after_failure <= 1  # at most Hypothesis's final replay of the smallest failing request
    assert example.minimal and example.shrink_cut_short


def test_without_a_limit_hypothesis_shrinks_to_the_end(monkeypatch):
    after_failure, example = judge_with_budget(monkeypatch, None)
    assert after_failure > 1
    assert example.minimal and not example.shrink_cut_short


def test_rules_met_in_passing_are_not_recorded_while_shrinking():
    # Which steps the shrinker tries within its time is no verdict on the rules the machine meets.
    with open_target("reference") as target:
        run = Run(RunConfig(target="reference", profile="quick", seed=3), SPEC, target, Transport(target, SPEC))
        met = "UpdateUser.lifecycle.missing-user-not-found"
        run.recorder.judge(met, None, None, None, stop=False)
        assert run.results.rules[met].tried == 1
        run.runner.state.failed_at = 0.0  # the judged rule has failed: Hypothesis is shrinking
        run.recorder.judge(met, None, None, None, stop=False)
        assert run.results.rules[met].tried == 1


@pytest.mark.parametrize("fault, rule_id", [
    ("duplicate-accepted", "RegisterUser.lifecycle.duplicate-refused"),
    ("update-not-persisted", "UpdateUser.lifecycle.update-persists"),
    ("not-found-as-400", "UpdateUser.lifecycle.deleted-user-not-found"),
])
@pytest.mark.parametrize("seed", [2, 7])
def test_a_lifecycle_program_is_shrunk_step_for_step_whatever_the_profile(monkeypatch, fault, rule_id, seed):
    # A step passed over once the time was up would change what the machine draws next, and
    # Hypothesis's replays would diverge (FlakyStrategyDefinition) instead of reporting the rule.
    with open_target("reference", reference_options={"faults": (fault,)}) as target:
        run = Run(RunConfig(target="reference", profile="quick", seed=seed, shrink_seconds=0.0), SPEC, target,
                  Transport(target, SPEC))
        rule = SPEC[rule_id.split(".")[0]].rule(rule_id)
        run.check_rule(rule)  # a FlakyStrategyDefinition would be raised here
        run.cleanup()
    result = run.results.rules[rule_id]
    assert result.status == ("advisory" if rule.level == "SHOULD" else "failed"), result.message
    assert result.example.minimal and not result.example.shrink_cut_short
