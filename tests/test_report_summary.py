"""The summary printed at the end of a run: users the run could not clean up."""
import shlex

from qsconform.conformance.reporting import console
from qsconform.conformance.reporting.render.common import SHOWN_USERS, sweep_command

URL = "http://127.0.0.1:4566"


def summary_lines(document):
    """The summary on a terminal wide enough that no sentence wraps (test_console.py holds the width)."""
    return console.summary_lines(document, width=1000)

def document(left_behind, maybe_created=(), name=URL, **target):
    return {"target": {"name": name, "endpoint": URL, "user_prefix": "qsc-1a2b3c4d-", "region": "us-east-1",
                       "account_id": "000000000000", "live": False, "namespace": "default",
                       "users_left_behind": left_behind, "users_maybe_created": list(maybe_created), **target},
            "seed": 1, "profile": "quick", "summary": {"operations": {"RegisterUser": {"passed": 2, "failed": 0}}},
            "rules": []}


def test_a_few_users_left_behind_are_all_named_with_the_exact_sweep_command():
    lines = summary_lines(document(["qsc-1a2b3c4d-a", "qsc-1a2b3c4d-b"]))
    at = lines.index("Could not delete 2 user(s) this run created: qsc-1a2b3c4d-a, qsc-1a2b3c4d-b. To delete them:")
    assert lines[at + 1] == \
        f"  qsconform sweep --target {URL} --region us-east-1 --account-id 000000000000 --prefix qsc-1a2b3c4d-"


def test_on_a_narrow_terminal_the_sweep_command_stays_one_command():
    lines = console.summary_lines(document(["qsc-1a2b3c4d-a"]), width=60)
    at = next(i for i, line in enumerate(lines) if line.startswith("  qsconform sweep"))
    command = []
    for line in lines[at:]:
        command.append(line.strip().removesuffix("\\").strip())
        if not line.endswith("\\"):
            break
    assert all(len(line) <= 60 for line in lines)
    assert shlex.split(" ".join(command)) == ["qsconform", "sweep", "--target", URL, "--region", "us-east-1",
                                              "--account-id", "000000000000", "--prefix", "qsc-1a2b3c4d-"]


def test_the_sweep_command_reaches_the_same_target():
    from qsconform.conformance.tools.cli import build_parser

    command = sweep_command(document([], name="aws", live=True, region="eu-west-1", namespace="team")["target"])
    words = shlex.split(command)
    assert words[:2] == ["qsconform", "sweep"]
    ns = build_parser().parse_args(words[1:])
    assert (ns.target, ns.live, ns.region, ns.account_id, ns.namespace, ns.prefix) == \
        ("aws", True, "eu-west-1", "000000000000", "team", "qsc-1a2b3c4d-")


def test_many_users_left_behind_are_counted_not_listed():
    names = [f"qsc-1a2b3c4d-{i}" for i in range(151)]
    [line] = [line for line in summary_lines(document(names)) if line.startswith("Could not delete")]
    assert line.startswith("Could not delete 151 user(s)")
    assert names[SHOWN_USERS - 1] in line and names[SHOWN_USERS] not in line
    assert f"and {151 - SHOWN_USERS} more (all in compliance.json)" in line


def test_names_are_shown_escaped():
    [line] = [line for line in summary_lines(document(["qsc-1a2b3c4d-\x7f", "", " qsc-1a2b3c4d-x", "a\nb"]))
              if line.startswith("Could not delete")]
    assert "\x7f" not in line and "\n" not in line
    assert "qsc-1a2b3c4d-\\x7f" in line and '""' in line and '" qsc-1a2b3c4d-x"' in line and "a\\nb" in line


def test_a_target_the_run_started_and_stopped_says_nothing():
    for name in ("moto", "reference"):
        lines = summary_lines(document(["qsc-1a2b3c4d-\x7f"], ["alice"], name=name))
        assert not any("Could not delete" in line or "interrupted request" in line for line in lines)


def test_nothing_left_behind_says_nothing():
    assert not any(line.startswith("Could not delete") for line in summary_lines(document([])))


def test_users_an_interrupted_request_may_have_registered_are_told_apart():
    lines = summary_lines(document([], ["alice"]))
    assert not any(line.startswith("Could not delete") for line in lines)
    assert "An interrupted request may have registered 1 user(s) outside the run's prefix, " \
           "left untouched (they may not be this run's): alice" in lines
