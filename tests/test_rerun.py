"""The command a report gives to rerun a failed rule reproduces it: for every fault of the reference target, the
command compliance.md prints for one of the rules the fault fails, run as it is written, fails that rule again
with the same message (apart from the user prefix, which every run draws afresh).

The rerun command carries every option that shaped the run (the fault, --examples 0 where the run used it...),
and compliance.json records them (target.options). Each run is in-process (tests/in_process.py: the command's
own parser and the plugin's way from options to a run), one fault per test, so that the test command's workers
share them out."""
from __future__ import annotations

import re
import shlex

import pytest

from qsconform.conformance.reference import FAULTS
from qsconform.conformance.reporting.render.markdown import render_markdown
from qsconform.spec.loader import default_spec
from in_process import run_command

pytestmark = pytest.mark.e2e

SPEC = default_spec()
LEVELS = {r.id: r.level for r in SPEC.rules}
SEED = 5
PICKED = 3  # rules of a fault the first run judges: enough that one fails, few enough to be quick


def candidates(fault) -> list[str]:
    """The rules a fault must fail (else those it must make advisory), the ones boundary examples judge first."""
    expected = fault.expected(LEVELS)
    wanted = [r for r, s in expected.items() if s == "failed"] or list(expected)
    return sorted(wanted, key=lambda r: (".lifecycle." in r, ".response." in r, r))[:PICKED]


def rerun_line(markdown: str, rule_id: str) -> str:
    """The rerun command compliance.md gives for a rule."""
    lines = [line for line in markdown.splitlines() if line.startswith("qsconform run ") and line.endswith(
        shlex.join(["--rule", rule_id]))]
    assert lines, f"no rerun command for {rule_id} in compliance.md"
    return lines[0]


def judged(doc: dict) -> dict[str, dict]:
    return {r["id"]: r for r in doc["rules"] if r["status"] not in ("deselected", "unsent")}


def without_prefix(doc: dict, text: str) -> str:
    return text.replace(doc["target"]["user_prefix"], "qsc-PREFIX-")


def first_run(name: str) -> tuple[str, dict]:
    """The fault's first run: its rules by their boundary examples alone, else (a fault only random examples
    catch) with the quick profile's examples too."""
    rules = " ".join(f"--rule {shlex.quote(r)}" for r in candidates(FAULTS[name]))
    for examples in (" --examples 0", ""):
        command = f"qsconform run --target reference --fault {name} --profile quick --seed {SEED}{examples} {rules}"
        doc = run_command(command)
        if any(r["status"] in ("failed", "advisory") for r in judged(doc).values()):
            return command, doc
    pytest.fail(f"{name}: no rule failed in {command}")


@pytest.mark.parametrize("name", list(FAULTS))
def test_the_rerun_command_of_a_failed_rule_fails_it_again(name):
    command, doc = first_run(name)
    assert doc["target"]["options"]["--fault"] == [name]
    assert ("--examples" in doc["target"]["options"]) == ("--examples 0" in command)
    deviating = [r for r in judged(doc).values() if r["status"] in ("failed", "advisory")]
    rule = next((r for r in deviating if r["status"] == "failed"), deviating[0])
    line = rerun_line(render_markdown(doc), rule["id"])
    words = shlex.split(line)
    assert words[words.index("--fault") + 1] == name and words[words.index("--seed") + 1] == str(SEED)
    again = run_command(line)
    # the rule alone (a lifecycle program meets the other lifecycle rules in passing, and records them)
    assert {r for r in judged(again) if ".lifecycle." not in r} <= {rule["id"]}
    rerun = judged(again)[rule["id"]]
    assert rerun["status"] == rule["status"]
    assert without_prefix(again, rerun["message"]) == without_prefix(doc, rule["message"])
    assert re.fullmatch(r"qsc-[0-9a-f]{8}-", again["target"]["user_prefix"])


def test_every_option_that_shapes_a_run_is_recorded_and_carried():
    """Each option that changes the target, the requests or the verdicts is in target.options and the rerun
    command; those that do not (where reports go, how many rules at once) are in neither."""
    from qsconform.conformance.tools import cli
    from qsconform.conformance.tools.options import RUN_OPTIONS, TARGET_OPTIONS, namespace_value, reproducing, rerun_command

    given = ["run", "--target", "http://127.0.0.1:4566", "--region", "eu-west-1", "--account-id", "111122223333",
             "--namespace", "team", "--live", "--aws-profile", "p", "--examples", "0", "--max-users", "5",
             "--iam-arn", "arn:aws:iam::111122223333:role/R", "--custom-permissions-name", "cp", "--fault", "f",
             "--reference-option", "status_in_body=true", "--spec-dir", "spec", "--observations", "o.json",
             "--strict", "--concurrency", "4", "--report-dir", "out", "--baseline", "b.json", "--shard", "1/2",
             "--level", "MUST", "--profile", "quick", "--seed", "9"]
    ns = cli.build_parser().parse_args(given)
    options = reproducing(namespace_value(ns))
    shaping = {o.flag for o in TARGET_OPTIONS + RUN_OPTIONS if o.reproduces}
    assert set(options) == shaping
    assert not {"--concurrency", "--report-dir", "--baseline", "--shard", "--level"} & set(options)
    command = shlex.split(rerun_command(ns.target, ns.profile, ns.seed, "UpdateUser.Role.enum", options))
    again = cli.build_parser().parse_args(command[1:])
    assert reproducing(namespace_value(again)) == options
    assert (again.target, again.profile, again.seed, again.rule) == (ns.target, "quick", 9, ["UpdateUser.Role.enum"])
    assert reproducing(namespace_value(cli.build_parser().parse_args(["run"]))) == {}  # defaults shape nothing
