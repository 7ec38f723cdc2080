"""The strategies read any operation spec: a third operation, with a renamed label, a new member and a
new cross-field rule, gets valid, invalid and boundary requests without a line of strategy code.
(The strategies keep only what the oracle labels valid or invalid: these tests look at what is drawn, not
at the oracle's verdict again; the reference server judges the real operations, test_strategies_differential.py.)"""
import json
import shutil

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings

from qsconform.spec.loader import default_spec, load_spec
from qsconform.strategies import boundary_examples, invalid_requests, rules_with_generators, valid_requests

SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NEW = "RenameMember"


def renamed(value, old, new):
    if isinstance(value, dict):
        return {(new if k == old else k): renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [new if v == old else renamed(v, old, new) for v in value]
    return value


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    """The installed spec plus RenameMember: UpdateUser with its user label called MemberName, an optional
    Nickname (a RoleName) and a rule that a Nickname needs an ADMIN or AUTHOR role."""
    directory = tmp_path_factory.mktemp("spec")
    shutil.copytree(default_spec().directory, directory, dirs_exist_ok=True)
    raw = json.loads((directory / "operations" / "UpdateUser.json").read_text().replace("UpdateUser", NEW))
    raw["members"] = renamed(raw["members"], "UserName", "MemberName")
    raw["rules"] = renamed(raw["rules"], "UserName", "MemberName")
    raw["http"]["uri"] = raw["http"]["uri"].replace("{UserName}", "{MemberName}")
    raw["target"]["existing_user_member"] = "MemberName"
    raw["documentation"] = "sources/UpdateUser.txt"  # a third operation's page would sit beside it
    for echo in raw["response"]["echo"]:
        echo["request"] = "MemberName" if echo["request"] == "UserName" else echo["request"]
    raw["members"]["Nickname"] = {"location": "body", "shape": "RoleName", "required": False,
                                  "source": "test", "level": "MUST"}
    raw["rules"].append({"id": f"{NEW}.nickname-needs-author", "level": "MUST", "source": "test",
                         "evidence": [{"page": NEW, "quote": "A nickname needs an author."}],
                         "when": {"Nickname": {"present": True}},
                         "then": {"members": {"Role": {"in": ["ADMIN", "AUTHOR"]}}}, "outcome": "invalid_value"})
    (directory / "operations" / f"{NEW}.json").write_text(json.dumps(raw, indent=2))
    return load_spec(directory)


def breakable(op):
    return {r.id for r in op.rules if r.is_input and r.generate_violations}


def test_the_new_operation_has_generators_for_every_breakable_rule(spec):
    op = spec[NEW]
    assert f"{NEW}.Nickname.max_length" in breakable(op) and f"{NEW}.nickname-needs-author" in breakable(op)
    assert breakable(op) == rules_with_generators(NEW, spec=spec)


def test_valid_requests_of_the_new_operation(spec):
    nicknames = []

    @SETTINGS
    @given(valid_requests(NEW, spec=spec))
    def check(request):
        assert request.path_params["MemberName"].startswith("qsc-")
        if "Nickname" in request.body:
            assert request.body["Role"] in ("ADMIN", "AUTHOR")
            nicknames.append(request.body["Nickname"])

    check()
    assert nicknames


def test_invalid_requests_of_the_new_operation(spec):
    drawn = set()

    @SETTINGS
    @given(invalid_requests(NEW, spec=spec))
    def check(request):
        assert request.expected.kind == "error" and request.expected.rule_id.startswith(f"{NEW}.")
        drawn.add(request.expected.rule_id)

    check()
    assert drawn
    # The new member is broken too (found deterministically: which rules a hundred random draws reach varies).
    nickname = find(invalid_requests(NEW, spec=spec), lambda r: r.expected.rule_id.startswith(f"{NEW}.Nickname."),
                    settings=settings(database=None, derandomize=True, max_examples=1000, phases=[Phase.generate],
                                      suppress_health_check=list(HealthCheck)))
    assert "Nickname" in nickname.body or nickname.raw_body is not None
    broken_rule = find(invalid_requests(NEW, rule_id=f"{NEW}.nickname-needs-author", spec=spec), lambda r: True,
                       settings=settings(database=None, derandomize=True, phases=[Phase.generate]))
    assert "Nickname" in broken_rule.body and broken_rule.body["Role"] not in ("ADMIN", "AUTHOR")


def test_boundary_examples_of_the_new_operation(spec):
    examples = boundary_examples(NEW, spec=spec)
    assert breakable(spec[NEW]) <= {r.expected.rule_id for r in examples}
    assert any(len(r.body.get("Nickname", "")) == 64 for r in examples if r.expected.is_success)
