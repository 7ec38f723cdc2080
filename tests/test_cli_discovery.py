"""Finding rules from the command line (--version, rules, explain), and errors said in one line before
any pytest output."""
import re
import socket

import pytest

from qsconform.conformance.tools import exits
from qsconform.conformance.tools.cli import main
from qsconform.spec.loader import default_spec

SPEC = default_spec()


def output(capsys):
    out = capsys.readouterr()
    return out.out, out.err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert output(capsys)[0].startswith("qsconform 0.")


def test_rules_lists_every_rule_once_and_filters(capsys):
    assert main(["rules"]) == exits.OK
    out, _ = output(capsys)
    listed = [line.split()[0] for line in out.splitlines()[:-1]]
    assert listed == [r.id for r in SPEC.rules]
    assert main(["rules", "--operation", "UpdateUser", "--level", "should"]) == exits.OK
    out, _ = output(capsys)
    listed = [line.split()[0] for line in out.splitlines()[:-1]]
    assert listed and all(SPEC.rule(r).operation == "UpdateUser" and SPEC.rule(r).level == "SHOULD" for r in listed)
    assert listed == [r.id for r in SPEC.rules if r.operation == "UpdateUser" and r.level == "SHOULD"]


def test_rules_says_which_are_not_sent_and_why(capsys):
    main(["rules"])
    out, _ = output(capsys)
    unsent = [r for r in SPEC.rules if not r.sent]
    assert unsent
    for rule in unsent:
        line = next(line for line in out.splitlines() if line.split()[0] == rule.id)
        assert "not sent" in line


def test_explain_answers_where_defined_how_generated_how_judged(capsys):
    assert main(["explain", "RegisterUser.UserName.pattern"]) == exits.OK
    out, _ = output(capsys)
    pattern = SPEC["RegisterUser"].members["UserName"].constraints["pattern"]
    assert "level:      MUST" in out
    assert "defined in: spec/shapes.json" in out and pattern.replace("\\", "\\\\") in out
    assert "generated:  a value outside the constraint" in out
    answers = SPEC.outcome_answers(SPEC.rule("RegisterUser.UserName.pattern").outcome)
    judged = next(line for line in out.splitlines() if "judged by" in line)
    assert "error_answer" in judged and all(f"{s} {t}" in judged for s, t in answers)
    assert "example valid:" in out and "example violating:" in out


@pytest.mark.parametrize("rule_id, place, check", [
    ("UpdateUser.response.echo", "spec/operations/UpdateUser.json", "checks.py echo"),
    ("RegisterUser.protocol.body-not-json", "spec/common.json", "error_answer"),
    ("UpdateUser.lifecycle.update-persists", "spec/operations/UpdateUser.json", "lifecycle.py"),
])
def test_explain_finds_each_kind_of_rule(capsys, rule_id, place, check):
    assert main(["explain", rule_id]) == exits.OK
    out, _ = output(capsys)
    assert f"defined in: {place}" in out and check in out


def test_explain_of_an_unsent_rule_says_it_is_never_sent(capsys):
    rule = next(r for r in SPEC.rules if not r.sent)
    main(["explain", rule.id])
    assert "generated:  never" in output(capsys)[0]


def test_an_unknown_rule_is_one_line_with_suggestions(capsys):
    assert main(["explain", "RegisterUser.UserName.patern"]) == exits.USAGE
    out, err = output(capsys)
    assert out == "" and err.count("\n") == 1 and "did you mean RegisterUser.UserName.pattern" in err


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args, code, words", [
    (["--target", "http://127.0.0.1:{port}"], exits.UNREACHABLE, "is unreachable"),
    (["--target", "https://quicksight.us-east-1.amazonaws.com"], exits.USAGE, "pass --live"),
    (["--shard", "3/2"], exits.USAGE, "--shard takes i/N"),
    (["--baseline", "/nonexistent/baseline.json"], exits.USAGE, "baseline.json"),
    (["--spec-dir", "/nonexistent/spec"], exits.USAGE, "invalid spec"),
])
def test_run_errors_are_one_line_before_pytest_starts(capsys, args, code, words):
    args = [a.format(port=free_port()) for a in args]
    assert main(["run", *args]) == code
    out, err = output(capsys)
    assert out == "" and err.count("\n") == 1 and words in err and err.startswith("qsconform: ")


def test_an_unknown_rule_to_run_is_one_line_before_pytest(capsys):
    assert main(["run", "--rule", "RegisterUser.UserName.patern"]) == exits.USAGE
    out, err = output(capsys)
    assert out == "" and err.count("\n") == 1 and "did you mean RegisterUser.UserName.pattern" in err


@pytest.mark.e2e
def test_rules_chosen_by_level_and_category_leave_the_rest_deselected_not_unsent(tmp_path):
    import json

    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference", "--profile",
                           "quick", "--examples", "0", "--seed", "2", "--report-dir", str(tmp_path), "--category",
                           "lifecycle", "--category", "cross-field", "--level", "must"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == exits.OK, done.stdout[-3000:] + done.stderr[-2000:]
    status = {r["id"]: r["status"] for r in json.loads((tmp_path / "compliance.json").read_text())["rules"]}
    wanted = {r.id for r in SPEC.rules if r.category in ("lifecycle", "cross-field") and r.level == "MUST" and r.sent}
    assert wanted and {rid for rid, s in status.items() if s not in ("deselected", "unsent")} == wanted
    assert all(status[r.id] == "unsent" for r in SPEC.rules if not r.sent)
    assert all(status[r.id] == "deselected" for r in SPEC.rules if r.sent and r.id not in wanted)


@pytest.mark.parametrize("command", ["merge", "matrix"])
def test_an_unreadable_report_is_one_line(capsys, tmp_path, command):
    bad = tmp_path / "compliance.json"
    bad.write_text("{not json")
    where = ["--report-dir" if command == "merge" else "--output", str(tmp_path / "out")]
    assert main([command, str(tmp_path), *where]) == exits.USAGE
    out, err = output(capsys)
    assert out == "" and err.count("\n") == 1 and err.startswith(f"qsconform: cannot read {bad}: Expecting")


def test_every_rule_falls_in_a_category_the_options_offer():
    from qsconform.spec.model import CATEGORIES

    assert {r.category for r in SPEC.rules} == set(CATEGORIES)


@pytest.mark.parametrize("rule_id", ["RegisterUser.response.arn", "UpdateUser.response.echo",
                                     "RegisterUser.response.success-status", "RegisterUser.response.iam-user-name"])
def test_explain_shows_the_correct_answer_of_a_response_rule(capsys, rule_id):
    """The status and the body's members a conforming target gives to an example the rule judges (the reference
    server's answer, which the rule's check keeps)."""
    import json
    import re

    assert main(["explain", rule_id]) == exits.OK
    out, _ = output(capsys)
    answer = out[out.index("  correct answer: to the valid example"):]
    status = int(re.search(r"^    status (\d+);", answer, re.M).group(1))
    statuses = SPEC.rule(f"{SPEC.rule(rule_id).operation}.response.success-status").params["statuses"]
    assert status in statuses and "Content-Type: application/json" in answer
    members = dict(re.findall(r"^    body (\S+) = (.*)$", answer, re.M))
    assert {"User.Arn", "User.UserName", "User.Email", "User.Role", "User.IdentityType", "RequestId"} <= set(members)
    sent = json.loads(re.search(r"example \S+ (\{.*\})$", answer.splitlines()[0]).group(1))
    assert json.loads(members["User.Email"]) == sent["Email"]  # the answer echoes what the example sent
    if rule_id == "RegisterUser.response.iam-user-name":  # an example the rule speaks about: an IAM identity
        assert sent["IdentityType"] == "IAM"


def test_explain_shows_the_correct_answer_of_an_error_rule_and_a_lifecycle_rule(capsys):
    assert main(["explain", "RegisterUser.error.resource-type"]) == exits.OK
    out, _ = output(capsys)
    assert "correct answer: to the invalid (" in out
    assert re.search(r"^    status 4\d\d; .*X-Amzn-ErrorType: \w+", out, re.M) and "body ResourceType = " in out
    assert main(["explain", "RegisterUser.lifecycle.duplicate-refused"]) == exits.OK
    out, _ = output(capsys)
    assert "  correct answer: one of: 409 ResourceExistsException" in out


def test_sweep_reads_the_spec_dir_it_is_given(capsys, tmp_path):
    sweep = ["sweep", "--target", "reference", "--prefix", "qsc-none-"]
    assert main(sweep + ["--spec-dir", str(tmp_path / "absent")]) == exits.USAGE
    out, err = output(capsys)
    assert out == "" and err == f"qsconform: invalid spec: {tmp_path / 'absent'}: spec directory not found\n"
    assert main(sweep + ["--spec-dir", str(SPEC.directory)]) == exits.OK
    assert output(capsys)[0].splitlines()[-1] == "sweep: deleted 0 user(s) under qsc-none-"
