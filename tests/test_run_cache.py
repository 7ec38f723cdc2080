"""Rules judged on the same request share one exchange: the request is prepared and sent once."""
from qsconform.conformance.engine.run import Run
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec
from qsconform.strategies import boundary_examples

SPEC = default_spec()


def test_response_rules_judge_one_exchange_of_a_request():
    with open_target("reference") as target:
        transport = Transport(target, SPEC)
        run = Run(RunConfig(target="reference", profile="quick", seed=1), SPEC, target, transport)
        sent = []
        transport.observers.append(lambda s: sent.append(s.operation))
        request = next(r for r in boundary_examples("RegisterUser", run.strategy_config, spec=SPEC) if r.expected.is_success)
        op = SPEC["RegisterUser"]
        rules = [r for r in op.rules_of("response") if r.scope in ("valid", "success", "any")]
        assert len(rules) > 3
        for rule in rules:
            run.runner.exercise(rule, request)
        # Registered once: not deleted and registered again for each rule that reads the answer.
        assert sent == ["RegisterUser"]
        # each rule once; a rule about some requests only (a COGNITO login's provider URL) none
        assert all(run.results.rules[r.id].tried == (0 if "when" in r.params else 1) for r in rules)
        run.cleanup()
    assert sent[1:] == ["DeleteUser", "ListUsers"]  # deleted, then read: gone


def test_hypothesis_prints_a_request_by_its_name_not_its_whole_body():
    """Hypothesis prints every explicit example it runs; a request's printed form must stay short."""
    from hypothesis.vendor.pretty import pretty

    from qsconform.spec.request import Expected, Request

    request = Request("RegisterUser", {"AwsAccountId": "1"}, {"Tags": [{"Key": "k" * 128}] * 50},
                      Expected("error", rule_id="RegisterUser.Tags.max_items"), notes=("boundary: Tags above_max",))
    assert pretty(request) == "Request(RegisterUser, RegisterUser.Tags.max_items, notes=('boundary: Tags above_max',))"
