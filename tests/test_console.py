"""The console of a run: compact by default, each failed rule named once, failures grouped by symptom, the
score and the report paths last; -v gives pytest's own account."""
import re
import subprocess
import sys

import pytest

from qsconform.conformance.console import summary_lines, symptom
from qsconform.conformance.render import common


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
    for local in ("UserName.pattern", "Email.required", "iam-requires-iamarn", "Role.enum", "response.arn", "response.echo"):
        assert text.count(local) == 1, local
    group = lines.index("  accepts invalid input with 200 (4):")
    assert lines[group + 1] == "    RegisterUser [MUST]: Email.required, UserName.pattern"
    assert lines[group + 2] == "    RegisterUser [OBSERVED]: iam-requires-iamarn"
    assert lines[group + 3] == "    UpdateUser [MUST]: Role.enum"
    assert "  RegisterUser.response.arn [OBSERVED] User.Arn is 'x', expected 'y'" in lines
    assert "  RegisterUser.error.declared (inconclusive): no example reached the rule" in lines
    assert text.index("Advisory: 1 rule(s)") < text.index("Score:")


def test_the_score_agrees_with_the_reports_and_comes_last_but_the_paths(tmp_path):
    doc = document(rule("RegisterUser.UserName.pattern", "failed", ACCEPTED), rule("RegisterUser.Email.type", "passed"),
                   rule("RegisterUser.Email.required", "passed"), rule("RegisterUser.Tags.max_items", "unsent"))
    lines = summary_lines(doc, tmp_path)
    per_op = common.counts(doc)
    [score] = [line for line in lines if line.startswith("  RegisterUser ") and "%" in line]
    assert common.percent(per_op["RegisterUser"]) in score and "2 passed, 1 failed" in score and "1 unsent" in score
    assert lines[-1] == f"Reports: {tmp_path / 'compliance.html'} (also compliance.json, compliance.md, junit.xml)"
    assert lines[-2].startswith("  failed by level: MUST 1")


def test_no_line_is_a_wall():
    long = "x" * 5000
    doc = document(rule("RegisterUser.response.arn", "failed", long),
                   *(rule(f"RegisterUser.M{i}.type", "failed", ACCEPTED) for i in range(200)))
    assert max(len(line) for line in summary_lines(doc)) <= 200


def named_failures(lines):
    """The rule ids the console's "Failed" section names, read back from its groups."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Failed: "))
    named, op = [], None
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        group = re.match(r"    (\w+) \[[^\]]+\]: (.*)", line)
        if group:
            op, items = group.groups()
        elif line.startswith("        ") and op:
            items = line.strip()
        else:
            op = None
            alone = re.match(r"  (\w+\.\S+) \[", line)
            named += [alone.group(1)] if alone else []
            continue
        named += [f"{op}.{item}" for item in items.rstrip(",").split(", ") if item]
    return named


@pytest.mark.e2e
def test_a_default_run_against_moto_fits_a_screen_and_ends_with_the_reports(tmp_path):
    done = subprocess.run([sys.executable, "-m", "qsconform.conformance.cli", "run", "--profile", "quick", "--seed", "3",
                           "--report-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.rstrip("\n").splitlines()
    assert len(lines) < 80, done.stdout
    assert lines[-1].startswith("Reports: ") and any(line.startswith("Score: ") for line in lines[-8:])
    import json

    failed = [r["id"] for r in json.loads((tmp_path / "compliance.json").read_text())["rules"] if r["status"] == "failed"]
    assert failed
    assert sorted(named_failures(lines)) == sorted(failed)  # each once
    assert "Traceback" not in done.stdout + done.stderr and "Captured log" not in done.stdout
    assert done.stderr.strip() == "", done.stderr[-2000:]


def test_the_symptoms_read_the_messages_the_checks_write():
    """symptom() reads the wording of checks.error_answer and no_server_error: a change there must show here."""
    import json as json_

    from requests.structures import CaseInsensitiveDict

    from qsconform.conformance.checks import Exchange, error_answer, no_server_error
    from qsconform.conformance.protocol import Response
    from qsconform.spec.model import default_spec
    from qsconform.spec.request import Expected, Request

    op = default_spec()["RegisterUser"]
    expected = Expected("error", rule_id="RegisterUser.UserName.pattern", answers=((400, "ValidationException"),))

    def answered(status, error_type=None):
        headers = CaseInsensitiveDict({"Content-Type": "application/json",
                                       **({"X-Amzn-ErrorType": error_type} if error_type else {})})
        response = Response(status=status, headers=headers, body=json_.dumps({"Message": "m"}).encode(), elapsed=0.01)
        return Exchange(op, Request("RegisterUser", {}, {}, expected), response, "us-east-1")

    assert symptom(error_answer(answered(200), {}).message) == "accepts invalid input with 200"
    assert symptom(error_answer(answered(500), {}).message) == "answers 500 (no error type) to invalid input"
    assert symptom(error_answer(answered(404, "ResourceNotFoundException"), {}).message) == \
        "answers 404 ResourceNotFoundException to invalid input"
    assert symptom(no_server_error(answered(500), {})) == "answers a valid request with a 500 (no error type)"
