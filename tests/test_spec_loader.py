"""The spec loader: the real spec loads, and a broken one is refused with one line naming file, place and problem."""
import json
import re
import shutil

import pytest

from qsconform.spec.loader import default_spec, load_spec

from qsconform.spec.model import LEVELS, SpecError
from qsconform.spec import SPEC_DIR

REGISTER = "operations/RegisterUser.json"
UPDATE = "operations/UpdateUser.json"


@pytest.fixture
def spec_copy(tmp_path):
    """A copy of the real spec, and a way to change one of its files (as JSON, or as raw text)."""
    directory = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))

    def edit(file, change=None, text=None):
        path = directory / file
        if text is None:
            doc = json.loads(path.read_text(encoding="utf-8"))
            change(doc)
            text = json.dumps(doc, indent=2)
        path.write_text(text, encoding="utf-8")
        return directory

    return edit


def refusal(directory) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(directory)
    message = str(info.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


def place(*parts) -> str:
    """A JSON path in a message, whichever separator the loader writes (members/UserName or members.UserName)."""
    return r"[./]".join(re.escape(p) for p in parts)


# -- the real spec ---------------------------------------------------------------------

def test_the_real_spec_loads():
    spec = load_spec()
    assert sorted(spec.operations) == ["RegisterUser", "UpdateUser"]
    assert spec.directory == SPEC_DIR
    assert default_spec() is default_spec()


def test_every_rule_has_a_source_and_a_level():
    for rule in default_spec().rules:
        assert len(rule.source) >= 3, rule.id
        assert rule.level in LEVELS, rule.id


def test_every_rule_whose_violations_are_not_generated_says_why():
    # Response and lifecycle rules are judged on answers, never by generated violations, so only member and
    # cross-field rules carry the choice not to generate them.
    skipped = [r for r in default_spec().rules if r.kind in ("member", "cross") and not r.generate_violations]
    assert skipped  # the real spec has some, or this test proves nothing
    for rule in skipped:
        assert rule.why.strip(), rule.id


def test_derived_member_rule_ids_name_operation_member_and_constraint():
    rules = [r for r in default_spec().rules if r.kind == "member"]
    assert rules
    for rule in rules:
        assert re.fullmatch(r"(RegisterUser|UpdateUser)\.\w+(\[\])?(\.\w+)*\.[a-z_]+", rule.id), rule.id
        assert rule.id == f"{rule.operation}.{rule.member}.{rule.constraint}"
    ids = {r.id for r in rules}
    assert {"RegisterUser.UserName.pattern", "RegisterUser.Tags[].Key.max_length", "RegisterUser.Email.required",
            "RegisterUser.Email.type", "UpdateUser.Role.enum"} <= ids


def test_every_cross_field_rule_id_starts_with_its_operation():
    for rule in default_spec().rules:
        assert rule.id.startswith(rule.operation + "."), rule.id


# -- a broken spec ---------------------------------------------------------------------

def test_invalid_json_gives_line_and_column(spec_copy):
    text = '{\n  "operation": "RegisterUser",\n  oops\n}\n'
    message = refusal(spec_copy(REGISTER, text=text))
    assert message.startswith("spec/operations/RegisterUser.json: line 3 column 3: not valid JSON")


def test_a_wrong_type(spec_copy):
    message = refusal(spec_copy(REGISTER, lambda d: d["members"]["UserName"].update(required="yes")))
    assert "spec/operations/RegisterUser.json" in message
    assert re.search(place("members", "UserName", "required"), message)
    assert "'yes' is not of type 'boolean'" in message


@pytest.mark.parametrize("file,change,where", [
    (REGISTER, lambda d: d["members"]["Email"].update(level="MAYBE"), ("members", "Email", "level")),
    (REGISTER, lambda d: d["rules"][0].update(level="MAYBE"), ("rules", "0", "level")),
    ("shapes.json", lambda d: d["shapes"]["TagKey"].update(level="MAYBE"), ("shapes", "TagKey", "level")),
], ids=["member", "rule", "shape"])
def test_an_unknown_level(spec_copy, file, change, where):
    message = refusal(spec_copy(file, change))
    assert f"spec/{file}" in message
    assert re.search(place(*where), message)
    assert "'MAYBE' is not one of" in message


def test_an_unknown_shape_name(spec_copy):
    message = refusal(spec_copy(UPDATE, lambda d: d["members"]["Role"].update(shape="UserRoles")))
    assert "spec/operations/UpdateUser.json" in message
    assert re.search(place("members", "Role", "shape"), message)
    assert "unknown shape 'UserRoles'" in message


@pytest.mark.parametrize("part,change", [
    ("when", lambda r: r["when"].update(Nickname={"present": True})),
    ("then", lambda r: r["then"].update(forbidden=["Nickname"])),
])
def test_a_cross_rule_naming_an_unknown_member(spec_copy, part, change):
    message = refusal(spec_copy(REGISTER, lambda d: change(d["rules"][1])))
    assert "spec/operations/RegisterUser.json" in message
    assert re.search(place("rules", "1", part), message)
    assert "unknown member 'Nickname'" in message


def test_a_rule_id_without_the_operation_prefix(spec_copy):
    message = refusal(spec_copy(UPDATE, lambda d: d["rules"][2].update(id="RegisterUser.url-requires-provider-type")))
    assert "spec/operations/UpdateUser.json" in message
    assert re.search(place("rules", "2", "id"), message)
    assert "must start with 'UpdateUser.'" in message


def test_a_rule_id_that_is_not_an_id(spec_copy):
    message = refusal(spec_copy(REGISTER, lambda d: d["rules"][0].update(id="iam requires iamarn")))
    assert "spec/operations/RegisterUser.json" in message
    assert re.search(place("rules", "0", "id"), message)


def test_a_duplicate_rule_id(spec_copy):
    def duplicate(d):
        d["rules"].append(dict(d["rules"][0], source="a second copy"))

    message = refusal(spec_copy(REGISTER, duplicate))
    assert "spec/operations/RegisterUser.json" in message
    assert "'RegisterUser.iam-requires-iamarn'" in message
    assert "twice" in message


def test_a_rule_id_taken_by_a_rule_of_another_kind(spec_copy):
    # Ids are unique across kinds: a lifecycle rule may not take a response rule's id.
    message = refusal(spec_copy(REGISTER, lambda d: d["lifecycle_rules"][0].update(id="RegisterUser.response.echo")))
    assert "spec/operations/RegisterUser.json" in message
    assert "'RegisterUser.response.echo'" in message and "twice" in message


@pytest.mark.parametrize("part,change", [
    ("rules", lambda d: d["rules"][0].update(outcome="refused")),
    ("lifecycle_rules", lambda d: d["lifecycle_rules"][0].update(outcome="refused")),
])
def test_an_unknown_outcome(spec_copy, part, change):
    message = refusal(spec_copy(REGISTER, change))
    assert "spec/operations/RegisterUser.json" in message
    assert re.search(place(part, "0", "outcome"), message)
    assert "unknown outcome 'refused'" in message


def test_an_error_not_in_the_catalog(spec_copy):
    message = refusal(spec_copy(UPDATE, lambda d: d["errors"].append("UserNotFoundException")))
    assert "spec/operations/UpdateUser.json" in message
    assert "errors" in message
    assert "'UserNotFoundException' is not in the error catalog" in message


def test_uri_labels_must_match_the_uri_members(spec_copy):
    uri = "/accounts/{AwsAccountId}/namespaces/{Namespace}/users"
    message = refusal(spec_copy(UPDATE, lambda d: d["http"].update(uri=uri)))
    assert "spec/operations/UpdateUser.json" in message
    assert re.search(place("http", "uri"), message)
    assert "UserName" in message


def test_a_missing_required_section(spec_copy):
    message = refusal(spec_copy("common.json", lambda d: d.pop("outcomes")))
    assert "spec/common.json" in message
    assert "'outcomes' is a required property" in message


def test_a_missing_spec_directory(tmp_path):
    message = refusal(tmp_path / "no-spec-here")
    assert "no-spec-here" in message
    assert "spec directory not found" in message


def test_a_missing_file(spec_copy):
    directory = spec_copy("shapes.json", lambda d: None)
    (directory / "shapes.json").unlink()
    message = refusal(directory)
    assert message.startswith("spec/shapes.json: cannot read")


def test_no_operation_files(spec_copy):
    directory = spec_copy("shapes.json", lambda d: None)
    for path in (directory / "operations").glob("*.json"):
        path.unlink()
    message = refusal(directory)
    assert message == "spec/operations: no operation spec files"


def test_an_operation_defined_twice(spec_copy):
    directory = spec_copy("shapes.json", lambda d: None)
    shutil.copy(directory / REGISTER, directory / "operations" / "RegisterUser-copy.json")
    message = refusal(directory)
    assert "spec/operations/RegisterUser.json" in message
    assert "RegisterUser is defined twice" in message


# -- gaps found while writing these tests (reported to the lead; remove xfail when fixed) ---

def test_an_unknown_violation_outcome(spec_copy):
    message = refusal(spec_copy(UPDATE, lambda d: d["members"]["UserName"].update(violation_outcome="gone")))
    assert "unknown outcome 'gone'" in message


def test_an_unknown_shape_inside_shapes_json_names_shapes_json(spec_copy):
    message = refusal(spec_copy("shapes.json", lambda d: d["shapes"]["Tag"]["members"]["Key"].update(shape="Key")))
    assert message.startswith("spec/shapes.json")


def test_a_deviation_of_an_unknown_member(spec_copy):
    message = refusal(spec_copy(UPDATE, lambda d: d["deviations"][1].update(member="Rolle")))
    assert message == "spec/operations/UpdateUser.json: deviations/1/member: unknown member 'Rolle'"


def test_a_rule_condition_naming_a_value_the_member_lacks(spec_copy):
    message = refusal(spec_copy(REGISTER, lambda d: d["rules"][0]["when"]["IdentityType"].update({"in": ["IAMX"]})))
    assert message == "spec/operations/RegisterUser.json: rules/0/when/IdentityType/in: 'IAMX' is not a value of IdentityType"


def test_co_broken_naming_a_constraint_the_shape_lacks(spec_copy):
    message = refusal(spec_copy("shapes.json", lambda d: d["shapes"]["Namespace"].update(co_broken={"min_length": ["pattern"]})))
    assert message == "spec/shapes.json: shapes/Namespace/co_broken: the shape has no min_length constraint"


def test_an_outcome_naming_an_error_outside_the_catalog(spec_copy):
    message = refusal(spec_copy("common.json", lambda d: d["outcomes"]["exists"]["answers"].append([409, "NoSuchError"])))
    assert message == "spec/common.json: outcomes/exists/answers/1: 'NoSuchError' is not in the error catalog"
