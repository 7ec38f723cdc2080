"""A rule every request breaks is reported with the smallest of its boundary examples."""
import pytest

from qsconform.conformance.engine.rule_runner import request_size
from qsconform.conformance.engine.run import Run
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec

SPEC = default_spec()


@pytest.mark.parametrize("fault, rule_id", [
    ("request-id-body-missing", "RegisterUser.response.request-id-body"),
    ("content-type-html", "UpdateUser.response.content-type"),
])
def test_the_smallest_boundary_example_is_tried_first(fault, rule_id):
    with open_target("reference", reference_options={"faults": (fault,)}) as target:
        run = Run(RunConfig(target="reference", profile="quick", seed=1), SPEC, target, Transport(target, SPEC))
        rule = SPEC[rule_id.split(".")[0]].rule(rule_id)
        examples = run.runner.examples_for(rule)
        assert len({request_size(req) for req in examples}) > 1  # else the order would not matter
        run.check_rule(rule)
        run.cleanup()
    assert run.results.rules[rule_id].status == "failed"
    smallest = min(examples, key=request_size)
    recorded = run.results.rules[rule_id].example.request
    assert recorded == {**run.redactor.redact(smallest.describe()),
                        "method": SPEC[rule_id.split(".")[0]].method, "path": recorded["path"], "headers": {"Content-Type": "application/json"}}
    assert recorded["path"].endswith(run.transport.url_for(smallest).split("/accounts/", 1)[1])
