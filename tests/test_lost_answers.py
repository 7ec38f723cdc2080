"""Answers lost on the way back are neither blamed on the target nor left behind.

The reference server resets a seeded share of its connections after the request took effect and before any
answer (drop_after_effect, drop_seed): a registration happened, its answer never came. Whatever the seed, the
run must judge every rule as it does without drops (a rule may only become inconclusive), exit 0, and leave no
user on the server.
"""
import json
import subprocess
import sys

import pytest

from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.engine.session import RunSession
from qsconform.conformance.reference import start_reference
from qsconform.conformance.reporting.report import compliance_document
from qsconform.spec.loader import default_spec

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("lost-answers")]
SPEC = default_spec()
ACCOUNT = "123456789012"
SEED = 5
DROPS = 0.05


def judged(**options):
    """A quick run against a reference server on loopback (a URL target, rules judged side by side): the statuses,
    the run, its compliance document, the server's dropped answers and the users left on it."""
    with start_reference(**options) as server:
        config = RunConfig(target=server.url, profile="quick", seed=SEED, prefix=f"qsc-{SEED:08x}-")
        session = RunSession(config, SPEC)
        with session as run:
            rules = [rule for rule in SPEC.rules if rule.sent]
            session.judge_ahead(rules)
            for rule in rules:
                run.judge_rule(rule)
        left = server.store.names(ACCOUNT)
        dropped = list(server.app.dropped)
    statuses = {rule_id: result.status for rule_id, result in run.results.rules.items()}
    return statuses, run, compliance_document(run), dropped, left


@pytest.fixture(scope="module")
def undisturbed():
    statuses, run, _, dropped, left = judged()
    assert dropped == [] and left == [] and run.results.exit_code() == 0
    return statuses


@pytest.mark.parametrize("drop_seed", [1, 2, 3])
def test_answers_lost_after_the_effect_change_no_verdict_and_leave_no_user(undisturbed, drop_seed):
    statuses, run, document, dropped, left = judged(drop_after_effect=DROPS, drop_seed=drop_seed)
    # The drops happened where they hurt: registrations and updates that took effect without an answer.
    assert any(d.startswith("POST ") for d in dropped) and any(d.startswith("PUT ") for d in dropped), dropped
    assert document["answers_lost"].get("RegisterUser") and document["answers_lost"].get("UpdateUser")
    changed = {rule_id: (undisturbed[rule_id], status, run.results.rules[rule_id].message)
               for rule_id, status in statuses.items() if status != undisturbed[rule_id] and status != "inconclusive"}
    assert changed == {}
    assert run.results.exit_code() == 0
    assert left == []  # nothing on the server
    assert document["target"]["users_left_behind"] == [] and document["target"]["users_maybe_created"] == []
    assert run.ledger.unknown() == []


def test_the_command_line_says_answers_were_lost_and_exits_0(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference", "--profile", "quick",
         "--seed", str(SEED), "--reference-option", f"drop_after_effect={DROPS}", "--reference-option", "drop_seed=2",
         "--report-dir", str(tmp_path), "--", "-k", "RegisterUser"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    document = json.loads((tmp_path / "compliance.json").read_text())
    assert sum(document["answers_lost"].values()) > 0
    assert "answer(s) to requests that change the target were lost on the way" in result.stdout
    assert document["target"]["users_left_behind"] == [] and not document["interrupted"]


def test_a_share_of_connections_is_dropped_the_same_way_every_time():
    import requests

    def drops(seed):
        with start_reference(drop_after_effect=0.3, drop_seed=seed) as server:
            for i in range(30):
                try:
                    requests.get(f"{server.url}/accounts/{ACCOUNT}/namespaces/default/users/u{i}", timeout=10)
                except requests.ConnectionError:
                    pass
            return list(server.app.dropped)

    first = drops(7)
    assert first == drops(7) and 0 < len(first) < 30
    assert first != drops(8)
