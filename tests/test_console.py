"""The console of a run, for people: compact by default, as wide as the terminal (COLUMNS) and never wider,
failures grouped by symptom, each rule named once, long messages cut around what differs, the first failures
with their rerun command and evidence link, a baseline's verdict first, the report paths and one verdict line
last; pytest's progress letters explained. -v gives pytest's own account."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from qsconform.conformance.reporting.console import PROGRESS, cut, summary_lines, symptom
from qsconform.conformance.reporting.render import common


def rule(rule_id, status, message="", level="MUST"):
    return {"id": rule_id, "operation": rule_id.split(".")[0], "status": status, "message": message, "level": level}


def document(*rules):
    return {"target": {"name": "moto", "endpoint": "http://127.0.0.1:5000", "user_prefix": "qsc-1-"},
            "seed": 3, "profile": "quick", "rules": list(rules),
            "summary": {"operations": {}}}


ACCEPTED = "accepted with 200; expected a refusal: 400 ValidationException"


@pytest.mark.parametrize("message, expected", [
    (ACCEPTED, "accepts invalid input with 200"),
    ("answered 500 (no error type); expected one of: 400 ValidationException", "answers 500 (no error type) to invalid input"),
    ("server error 503 ServiceUnavailable", "answers a valid request with a 503 ServiceUnavailable"),
    ("User.Arn is 'x', expected 'y'", None),
])
def test_symptoms(message, expected):
    assert symptom(message) == expected


def test_failures_are_grouped_by_symptom_each_rule_once_with_its_level():
    doc = document(rule("RegisterUser.UserName.pattern", "failed", ACCEPTED),
                   rule("RegisterUser.Email.required", "failed", ACCEPTED),
                   rule("RegisterUser.iam-requires-iamarn", "failed", ACCEPTED, "OBSERVED"),
                   rule("UpdateUser.Role.enum", "failed", ACCEPTED),
                   rule("RegisterUser.response.arn", "failed", "User.Arn is 'x', expected 'y'", "OBSERVED"),
                   rule("UpdateUser.response.echo", "advisory", "User.Email is missing", "SHOULD"),
                   rule("UpdateUser.Email.type", "passed"),
                   rule("RegisterUser.error.declared", "inconclusive", "no example reached the rule"))
    lines = summary_lines(doc)
    text = "\n".join(lines)
    listed = text.split("To start with")[0]  # then the first failures again, with their commands
    for local in ("UserName.pattern", "Email.required", "iam-requires-iamarn", "Role.enum", "response.arn", "response.echo"):
        assert listed.count(local) == 1, local
    group = lines.index("  accepts invalid input with 200 (4):")
    assert lines[group + 1] == "    RegisterUser [MUST]: Email.required, UserName.pattern"
    assert lines[group + 2] == "    RegisterUser [OBSERVED]: iam-requires-iamarn"
    assert lines[group + 3] == "    UpdateUser [MUST]: Role.enum"
    assert lines[group + 4:group + 6] == ["  RegisterUser:", "    response.arn [OBSERVED] User.Arn is 'x', expected 'y'"]
    assert "  inconclusive, no example reached the rule (1):" in lines
    assert text.index("Advisory: 1 rule(s)") < text.index("Score:")


def test_names_of_one_member_are_said_once_and_operations_with_the_same_rules_too():
    doc = document(*(rule(f"{op}.{name}", "failed", ACCEPTED) for op in ("RegisterUser", "UpdateUser")
                     for name in ("Email.required", "Email.type", "Tags[].Key.max_length", "namespace-must-exist")))
    assert "    RegisterUser, UpdateUser [MUST]: Email.{required,type}, Tags[].Key.max_length, namespace-must-exist" \
        in summary_lines(doc, width=120)


def test_the_score_agrees_with_the_reports_and_the_verdict_comes_last(tmp_path):
    doc = document(rule("RegisterUser.UserName.pattern", "failed", ACCEPTED), rule("RegisterUser.Email.type", "passed"),
                   rule("RegisterUser.Email.required", "passed"), rule("RegisterUser.Tags.max_items", "unsent"))
    doc["seconds"] = 12.34
    doc["rules"][0]["examples"], doc["rules"][1]["examples"] = 5, 7
    lines = summary_lines(doc, tmp_path, width=200)
    per_op = common.counts(doc)
    [score] = [line for line in lines if line.startswith("  RegisterUser ") and "%" in line]
    assert common.percent(per_op["RegisterUser"]) in score and "2 passed, 1 failed" in score and "1 not judged" in score
    assert lines[-2] == f"Reports: {tmp_path / 'compliance.html'} (also compliance.json, compliance.md, junit.xml, " \
                        "repro.sh)"
    assert lines[-1] == "FAIL: 1 failed, 2 passed, 0 advisory of 3 judged; 12 examples in 12.3 s"
    assert "Failed: 1 rule(s) (MUST 1), by symptom" in lines


@pytest.mark.parametrize("change, verdict", [
    (lambda d: None, "FAIL: 1 failed, 1 passed, 1 advisory of 3 judged; 0 examples in 2.0 s"),
    (lambda d: d["rules"][0].update(status="passed"), "PASS: 0 failed, 2 passed, 1 advisory of 3 judged; 0 examples in 2.0 s"),
    (lambda d: (d["rules"][0].update(status="passed"), d.update(strict=True)),
     "FAIL (strict): 0 failed, 2 passed, 1 advisory of 3 judged; 0 examples in 2.0 s"),
    (lambda d: (d.update(interrupted=True), d["rules"].append(rule("UpdateUser.Role.enum", "not-run"))),
     "INTERRUPTED: 3 of 4 rules judged; 1 failed, 1 passed, 1 advisory; 0 examples in 2.0 s"),
    (lambda d: (d.update(stopped_early=True), d["rules"].append(rule("UpdateUser.Role.enum", "not-run"))),
     "STOPPED EARLY: 3 of 4 rules judged; 1 failed, 1 passed, 1 advisory; 0 examples in 2.0 s"),
])
def test_one_verdict_line_ends_every_summary(change, verdict):
    doc = document(rule("RegisterUser.UserName.pattern", "failed", ACCEPTED), rule("RegisterUser.Email.type", "passed"),
                   rule("UpdateUser.response.echo", "advisory", "User.Email is missing", "SHOULD"))
    doc["seconds"] = 2
    change(doc)
    assert summary_lines(doc, width=100)[-1] == verdict  # wide enough for every part (xdist's workers say 80)


def test_an_interrupted_run_says_so_whatever_its_verdicts():
    doc = document(rule("RegisterUser.Email.type", "passed"))
    assert summary_lines(doc, interrupted=True)[-1].startswith("INTERRUPTED: 1 of 1 rules judged; 0 failed, 1 passed")


@pytest.mark.parametrize("width", [60, 80, 100])
def test_no_line_is_wider_than_the_terminal(width):
    long = "x" * 5000
    doc = document(rule("RegisterUser.response.arn", "failed", long),
                   rule("RegisterUser.response.iam-user-name", "failed", f"User.Arn is '{'a' * 300}b', expected '{'a' * 300}c'"),
                   rule("UpdateUser.Role.enum", "inconclusive", long),
                   *(rule(f"RegisterUser.M{i}.type", "failed", ACCEPTED) for i in range(200)))
    doc["target"].update(options={"--fault": ["a" * 30, "b" * 30], "--examples": 0})
    doc["target"]["users_left_behind"], doc["target"]["name"] = ["qsc-1-" + "n" * 90], "http://10.0.0.1:4566"
    lines = summary_lines(doc, Path("/tmp") / ("d" * 40), width=width)
    assert max(len(line) for line in lines) <= width, [line for line in lines if len(line) > width]


def test_a_long_message_is_cut_around_the_part_that_differs():
    arn = "arn:aws:quicksight:{}:123456789012:user/default/qsc-85e9c383-someone"
    message = f"User.Arn is '{arn.format('eu-west-1')}', expected '{arn.format('us-east-1')}'"
    shown = cut(message, 60)
    assert len(shown) <= 60 and "eu-west-1" in shown and "us-east-1" in shown and "…" in shown
    assert cut(message, 500) == message
    assert cut("x" * 100, 20) == "x" * 19 + "…"


def test_the_first_failures_come_with_their_rerun_command_and_evidence_link(tmp_path):
    doc = document(*(rule(f"RegisterUser.M{i}.type", "failed", ACCEPTED) for i in range(5)))
    doc["target"]["options"] = {"--fault": ["duplicate-accepted"], "--examples": 0}
    text = "\n".join(summary_lines(doc, Path("/r"), width=80))
    for i in range(5):
        shown = f"    /r/compliance.html#rule-RegisterUser.M{i}.type" in text
        assert shown == (i < 3)
    command = re.search(r"^  (qsconform run .*?--rule RegisterUser\.M0\.type)$", text, re.S | re.M).group(1)
    words = shlex.split(command.replace("\\\n", " "))
    assert words == ["qsconform", "run", "--target", "moto", "--fault", "duplicate-accepted", "--examples", "0",
                     "--profile", "quick", "--seed", "3", "--rule", "RegisterUser.M0.type"]


def test_a_baseline_comes_first_new_and_fixed_named_accepted_folded(tmp_path):
    from qsconform.conformance.judging.baseline import Accepted, Baseline, compare

    doc = document(rule("RegisterUser.UserName.pattern", "failed", ACCEPTED),
                   rule("RegisterUser.Email.required", "failed", ACCEPTED),
                   rule("UpdateUser.Role.enum", "passed"), rule("UpdateUser.Email.type", "failed", ACCEPTED))
    baseline = Baseline("moto", None, (Accepted("RegisterUser.UserName.pattern"), Accepted("RegisterUser.Email.required"),
                                       Accepted("UpdateUser.Role.enum")), Path("b.json"))
    doc["baseline"] = compare(doc, baseline).as_dict()
    lines = summary_lines(doc, tmp_path, width=100)
    start = next(i for i, line in enumerate(lines) if line.startswith("Baseline "))
    assert lines[start] == "Baseline b.json: 1 new failure: the run fails."
    assert all(not line.startswith(("Failed", "New failures", "Score")) for line in lines[:start])
    assert lines[start + 1:start + 4] == ["  new (1): UpdateUser.Email.type", "  fixed (1): UpdateUser.Role.enum",
                                          "  accepted (2): still deviating as the baseline accepts; folded "
                                          "(compliance.md lists them)"]
    text = "\n".join(lines)
    assert "UserName.pattern" not in text and "Email.required" not in text  # folded
    assert "New failures: 1 rule(s)" in text
    assert lines[-1].startswith("FAIL: 1 new failure (baseline: 2 accepted, 1 fixed)")
    doc["rules"][3]["status"] = "passed"
    doc["baseline"] = compare(doc, baseline).as_dict()
    assert summary_lines(doc)[-1].startswith("PASS: 0 new failures (baseline: 2 accepted, 1 fixed)")


def named_failures(lines):
    """The rule ids the console's "Failed" section names, read back from its groups (braces expanded), and how
    many more each group counts without naming them."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Failed: "))
    named, more, op = [], 0, None
    section = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        section.append(line)
    text = "\n".join(section)
    for block in re.split(r"\n(?=    \S|  \S)", text):
        head = re.match(r"\s+([\w, ]+) \[[^\]]+\]:\s*(.*)", block, re.S)
        operation = re.match(r"  (\w+):$", block)
        alone = re.match(r"    (\S+) \[", block)
        if head:
            op = None
            ops = head.group(1).split(", ")
            items = " ".join(head.group(2).split())
            counted = re.search(r",? ?and (\d+) more$", items)
            if counted:
                more += int(counted.group(1)) * len(ops)
                items = items[:counted.start()]
            for item in re.findall(r"[^,{]+(?:\{[^}]*\})?", items):
                item = item.strip()
                stem, _, rest = item.partition("{")
                parts = rest.rstrip("}").split(",") if rest else [""]
                named += [f"{o}.{stem}{p}" for o in ops for p in parts]
        elif operation:
            op = operation.group(1)
        elif alone and op:
            named.append(f"{op}.{alone.group(1)}")
    return named, more


@pytest.mark.e2e
def test_a_default_run_against_moto_fits_a_screen_and_ends_with_the_verdict(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--profile", "quick", "--seed", "3",
                           "--report-dir", str(tmp_path)], capture_output=True, text=True, timeout=600,
                          env={**env, "COLUMNS": "80"})
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.rstrip("\n").splitlines()
    assert len(lines) < 80, done.stdout
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    assert lines[-1].startswith("FAIL: ") and " examples in " in lines[-1]
    assert any(line.startswith("Reports:") for line in lines[-6:]) and any(line.startswith("Score: ") for line in lines)
    import json

    failed = [r["id"] for r in json.loads((tmp_path / "compliance.json").read_text())["rules"] if r["status"] == "failed"]
    assert failed
    named, more = named_failures(lines)
    assert len(named) == len(set(named)) and set(named) <= set(failed) and len(named) + more == len(failed)
    progress = "".join(line.split(" [")[0] for line in lines[:2])  # pytest's progress line
    assert set(progress.replace(" ", "")) <= set(PROGRESS) and "F" in progress  # every letter explained
    legend = next(line for line in lines if line.startswith("Progress: "))
    assert all(f"{letter} {what}" in legend for letter, what in PROGRESS.items())
    assert "compliance.html#rule-" in done.stdout and "--rule " in done.stdout
    assert "Traceback" not in done.stdout + done.stderr and "Captured log" not in done.stdout
    assert done.stderr.strip() == "", done.stderr[-2000:]


@pytest.mark.e2e
def test_a_wider_terminal_gets_wider_lines(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.tools.cli", "run", "--target", "reference",
                           "--fault", "arn-wrong-region", "--profile", "quick", "--examples", "0", "--seed", "3",
                           "--report-dir", str(tmp_path), "--category", "response"], capture_output=True, text=True,
                          timeout=300, env={**env, "COLUMNS": "140"})
    assert done.returncode == 1, done.stdout[-3000:]
    lines = done.stdout.splitlines()
    assert 80 < max(len(line) for line in lines) <= 140
    assert lines[-1].startswith("FAIL: 1 failed")  # RegisterUser's Arn (observed #1); UpdateUser's is an inference
    assert "--fault arn-wrong-region" in lines[[i for i, line in enumerate(lines) if "qsconform: target" in line][0]]


def test_the_symptoms_read_the_messages_the_checks_write():
    """symptom() reads the wording of checks.error_answer and no_server_error: a change there must show here."""
    import json as json_

    from requests.structures import CaseInsensitiveDict

    from qsconform.conformance.judging.checks import Exchange, error_answer, no_server_error
    from qsconform.conformance.wire.protocol import Answer
    from qsconform.spec.loader import default_spec
    from qsconform.spec.request import Expected, Request

    op = default_spec()["RegisterUser"]
    expected = Expected("error", rule_id="RegisterUser.UserName.pattern", answers=((400, "ValidationException"),))

    def answered(status, error_type=None):
        headers = CaseInsensitiveDict({"Content-Type": "application/json",
                                       **({"X-Amzn-ErrorType": error_type} if error_type else {})})
        response = Answer(status=status, headers=headers, body=json_.dumps({"Message": "m"}).encode(), elapsed=0.01,
                            protocol=op.protocol)
        return Exchange(op, Request("RegisterUser", {}, {}, expected), response, "us-east-1")

    assert symptom(error_answer(answered(200), {}).message) == "accepts invalid input with 200"
    assert symptom(error_answer(answered(500), {}).message) == "answers 500 (no error type) to invalid input"
    assert symptom(error_answer(answered(404, "ResourceNotFoundException"), {}).message) == \
        "answers 404 ResourceNotFoundException to invalid input"
    assert symptom(no_server_error(answered(500), {})) == "answers a valid request with a 500 (no error type)"
