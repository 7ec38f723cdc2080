"""The drift check lists every difference between the spec and botocore's QuickSight model, and only those."""
import copy
import json
import shutil

import botocore
import pytest
from botocore.model import ServiceModel

from qsconform.spec import diff as spec_diff
from qsconform.spec.loader import default_spec, load_spec
from qsconform.spec.diff import Difference, diff_spec, recorded_differences
from qsconform.spec import SPEC_DIR
from qsconform.spec.service import service_model

SPEC = default_spec()
OPERATIONS = ("RegisterUser", "UpdateUser")
API_VERSION = SPEC["RegisterUser"].raw["model"]["api_version"]
MODEL = service_model("quicksight", API_VERSION)
# The model's words for a shape's bounds, in the spec's vocabulary.
BOUNDS = {"string": {"min": "min_length", "max": "max_length"}, "list": {"min": "min_items", "max": "max_items"}}


def wheres(differences):
    return sorted(d.where for d in differences)


# -- today's spec ---------------------------------------------------------------------

def test_todays_spec_has_no_unrecorded_difference():
    assert diff_spec(SPEC) == []


def test_the_recorded_differences_are_the_deviations_that_depart_from_the_model():
    # The provider-type enum comes from the pages (the model says String); UpdateUser's Role deviation follows
    # the model, so it records no difference.
    assert wheres(recorded_differences(SPEC)) == [
        "RegisterUser.members.ExternalLoginFederationProviderType.enum",
        "UpdateUser.members.ExternalLoginFederationProviderType.enum",
    ]


def test_main_says_so_and_exits_0(capsys):
    assert spec_diff.main([]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"spec-diff: 0 unrecorded differences (RegisterUser, UpdateUser against botocore {botocore.__version__} "
        f"quicksight {API_VERSION})"]


# -- the full set against the model ---------------------------------------------------

def _model_request_members(shape, path, location, required):
    """(path, facts) for every request member the model reaches, read through botocore's own model API."""
    facts = {"type": {"structure": "structure", "list": "list"}.get(shape.type_name, shape.type_name),
             "required": required, "location": location, "shape": shape.name,
             "constraints": {}}
    for key in ("min", "max", "pattern", "enum"):
        if key in shape.metadata:
            facts["constraints"][BOUNDS.get(shape.type_name, {}).get(key, key)] = shape.metadata[key]
    yield path, facts
    if shape.type_name == "list":
        yield from _model_request_members(shape.member, f"{path}[]", "item", True)
    if shape.type_name == "structure":
        for name, sub in shape.members.items():
            yield from _model_request_members(sub, f"{path}.{name}", "item", name in shape.required_members)


def _spec_request_members(members):
    for m in members:
        yield m.path, {"type": m.type, "required": m.required, "location": m.location, "shape": m.shape,
                       "constraints": dict(m.constraints)}
        if m.item is not None:
            yield from _spec_request_members([m.item])
        yield from _spec_request_members(m.members)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_spec_covers_every_request_member_and_constraint_of_the_model(operation):
    model_input = ServiceModel(MODEL, "quicksight").operation_model(operation).input_shape
    model = {}
    for name, shape in model_input.members.items():
        location = shape.serialization.get("location", "body")
        model.update(_model_request_members(shape, name, location, name in model_input.required_members))
    spec = dict(_spec_request_members(SPEC[operation].members.values()))
    assert sorted(spec) == sorted(model)
    recorded = {(d["member"], d["constraint"]) for d in SPEC[operation].raw.get("deviations", [])}
    for path, facts in model.items():
        spec_facts = spec[path]
        for constraint in set(facts["constraints"]) | set(spec_facts["constraints"]):
            if (path, constraint) not in recorded:
                assert spec_facts["constraints"].get(constraint) == facts["constraints"].get(constraint), \
                    (path, constraint)
        assert {k: v for k, v in spec_facts.items() if k != "constraints"} == \
               {k: v for k, v in facts.items() if k != "constraints"}, path


def _reduced_model():
    """The two operations and every shape they reach: small enough to copy for each perturbation."""
    shapes, todo = {}, []
    for name in OPERATIONS:
        op = MODEL["operations"][name]
        todo += [op["input"]["shape"], op["output"]["shape"]] + [e["shape"] for e in op["errors"]]
    while todo:
        name = todo.pop()
        if name in shapes:
            continue
        shapes[name] = MODEL["shapes"][name]
        todo += [ref["shape"] for ref in shapes[name].get("members", {}).values()]
        if "member" in shapes[name]:
            todo.append(shapes[name]["member"]["shape"])
    # Catalog errors no operation names are looked up too (modelled or not).
    for name in SPEC.common["errors"]:
        if name in MODEL["shapes"]:
            shapes[name] = MODEL["shapes"][name]
    return {"metadata": MODEL["metadata"], "operations": {n: MODEL["operations"][n] for n in OPERATIONS},
            "shapes": shapes}


REDUCED = _reduced_model()


def _request_shapes():
    """Names of every shape a request member of either operation reaches, input shapes excluded."""
    seen, todo = set(), []
    for name in OPERATIONS:
        input_shape = REDUCED["shapes"][REDUCED["operations"][name]["input"]["shape"]]
        todo += [ref["shape"] for ref in input_shape["members"].values()]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            shape = REDUCED["shapes"][name]
            todo += [ref["shape"] for ref in shape.get("members", {}).values()]
            if "member" in shape:
                todo.append(shape["member"]["shape"])
    return sorted(seen)


def _changed(value):
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return value[:-1]
    return value + "x"


def _perturbations():
    """(id, change to the model, where the difference must be reported) for every fact of both requests."""
    cases = []
    for name in _request_shapes():
        shape = REDUCED["shapes"][name]
        for key in ("min", "max", "pattern", "enum"):
            if key in shape:
                constraint = BOUNDS.get(shape["type"], {}).get(key, key)
                cases.append((f"{name}.{key}", ("shape", name, key), f"shapes.{name}.{constraint}"))
        for member in shape.get("members", {}):
            cases.append((f"{name}.{member}.required", ("struct-required", name, member),
                          f"shapes.{name}.members.{member}.required"))
    cases.append(("String.max added", ("add", "String", "max"), "shapes.String.max_length"))
    for op in OPERATIONS:
        input_name = REDUCED["operations"][op]["input"]["shape"]
        for member, ref in REDUCED["shapes"][input_name]["members"].items():
            cases.append((f"{op}.{member}.required", ("struct-required", input_name, member),
                          f"{op}.members.{member}.required"))
            cases.append((f"{op}.{member}.dropped", ("drop", input_name, member), f"{op}.members.{member}"))
            cases.append((f"{op}.{member}.location", ("location", input_name, member),
                          f"{op}.members.{member}.location"))
        cases.append((f"{op}.method", ("http", op, "method"), f"{op}.http.method"))
        cases.append((f"{op}.uri", ("http", op, "requestUri"), f"{op}.http.uri"))
        error = REDUCED["operations"][op]["errors"][-1]["shape"]
        cases.append((f"{op}.errors", ("drop-error", op, error), f"{op}.errors.{error}"))
        output = REDUCED["operations"][op]["output"]["shape"]
        cases.append((f"{op}.Status", ("unlocate", output, "Status"), f"{op}.response.members.Status.location"))
    cases.append(("AccessDenied status", ("status", "AccessDeniedException", 403),
                  "errors.AccessDeniedException.status"))
    cases.append(("Limit members", ("drop", "LimitExceededException", "ResourceType"),
                  "errors.LimitExceededException.members"))
    return cases


def _apply(model, change):
    kind, a, b = change
    shapes = model["shapes"]
    if kind == "shape":
        shapes[a][b] = _changed(shapes[a][b])
    elif kind == "add":
        shapes[a][b] = 10
    elif kind == "struct-required":
        required = shapes[a].setdefault("required", [])
        required.remove(b) if b in required else required.append(b)
    elif kind == "drop":
        del shapes[a]["members"][b]
    elif kind == "location":
        ref = shapes[a]["members"][b]
        ref["location"] = "body" if ref.get("location") == "uri" else "uri"
        ref["locationName"] = b
    elif kind == "unlocate":
        del shapes[a]["members"][b]["location"]
    elif kind == "http":
        http = model["operations"][a]["http"]
        http[b] = "PATCH" if b == "method" else http[b] + "/x"
    elif kind == "drop-error":
        model["operations"][a]["errors"] = [e for e in model["operations"][a]["errors"] if e["shape"] != b]
    elif kind == "status":
        shapes[a]["error"]["httpStatusCode"] = b


def test_the_reduced_model_agrees_with_the_spec():
    assert diff_spec(SPEC, REDUCED) == []


@pytest.mark.parametrize("change,where", [(c[1], c[2]) for c in _perturbations()],
                         ids=[c[0] for c in _perturbations()])
def test_every_fact_of_the_model_is_compared(change, where):
    model = copy.deepcopy(REDUCED)
    _apply(model, change)
    found = wheres(diff_spec(SPEC, model))
    assert where in found
    # A model change under a deviation also makes the deviation's record stale; nothing else may show.
    assert [w for w in found if w != where and ".deviations." not in w] == []


def test_a_model_change_under_a_deviation_that_follows_the_model_is_listed():
    model = copy.deepcopy(REDUCED)
    model["shapes"]["UserRole"]["enum"].append("VIEWER")
    found = diff_spec(SPEC, model)
    assert wheres(found) == ["UpdateUser.deviations.Role.enum", "shapes.UserRole.enum"]
    stale = next(d for d in found if d.where == "UpdateUser.deviations.Role.enum")
    assert "VIEWER" in stale.model and "VIEWER" not in stale.spec


# -- a changed spec ---------------------------------------------------------------------

def _remove(items, value):
    items.remove(value)


def _set(mapping, key, value):
    mapping[key] = value


def _drop(mapping, key):
    del mapping[key]


def _member(op_doc, name):
    return op_doc["members"][name]


SPEC_CHANGES = [
    ("shapes.json", lambda d: _set(d["shapes"]["UserName"], "min_length", 2), ["shapes.UserName.min_length"]),
    ("shapes.json", lambda d: _set(d["shapes"]["TagList"], "max_items", 199), ["shapes.TagList.max_items"]),
    ("shapes.json", lambda d: _remove(d["shapes"]["UserRole"]["enum"], "AUTHOR_PRO"),
     ["shapes.UserRole.enum"]),
    ("shapes.json", lambda d: _set(d["shapes"]["RoleSessionName"], "pattern", "[\\w+=.@-]+"),
     ["shapes.RoleSessionName.pattern"]),
    ("shapes.json", lambda d: _set(d["shapes"]["Tag"]["members"]["Key"], "required", False),
     ["shapes.Tag.members.Key.required"]),
    ("shapes.json", lambda d: _set(d["shapes"]["User"]["members"]["Role"], "shape", "String"),
     ["shapes.User.members.Role.shape"]),
    ("shapes.json", lambda d: _set(d["shapes"]["Boolean"], "type", "string"), ["shapes.Boolean.type"]),
    ("operations/RegisterUser.json", lambda d: _set(_member(d, "IamArn"), "required", True),
     ["RegisterUser.members.IamArn.required"]),
    ("operations/UpdateUser.json", lambda d: _set(_member(d, "Email"), "required", False),
     ["UpdateUser.members.Email.required"]),
    ("operations/RegisterUser.json", lambda d: _set(_member(d, "SessionName"), "max_length", 63),
     ["RegisterUser.members.SessionName.max_length"]),
    ("operations/RegisterUser.json", lambda d: _set(d["members"], "Nickname",
                                                    {"location": "body", "shape": "String", "required": False,
                                                     "source": "made up", "level": "MUST"}),
     ["RegisterUser.members.Nickname"]),
    ("operations/RegisterUser.json", lambda d: _set(_member(d, "Email"), "shape", "Arn"),
     ["RegisterUser.members.Email.shape"]),
    ("operations/RegisterUser.json",
     lambda d: _set(d["http"], "uri", "/accounts/{AwsAccountId}/namespaces/{Namespace}/user"),
     ["RegisterUser.http.uri"]),
    ("operations/UpdateUser.json", lambda d: _set(d["http"], "method", "POST"), ["UpdateUser.http.method"]),
    ("operations/RegisterUser.json", lambda d: _set(d, "deviations", []),
     ["RegisterUser.members.ExternalLoginFederationProviderType.enum"]),
    ("operations/RegisterUser.json",
     lambda d: _remove(d["deviations"][0]["doc"], "CUSTOM_OIDC"),
     ["RegisterUser.deviations.ExternalLoginFederationProviderType.enum"]),
    ("operations/UpdateUser.json", lambda d: _remove(d["deviations"][1]["model"], "READER_PRO"),
     ["UpdateUser.deviations.Role.enum"]),
    # A deviation that follows the model records nothing: a spec that departs from the model anyway shows.
    ("operations/UpdateUser.json", lambda d: _set(_member(d, "Role"), "enum",
                                                  ["ADMIN", "AUTHOR", "READER", "RESTRICTED_AUTHOR", "RESTRICTED_READER"]),
     ["UpdateUser.members.Role.enum"]),
    ("operations/UpdateUser.json", lambda d: _set(d["deviations"][1], "follows", "doc"),
     ["UpdateUser.deviations.Role.enum"]),
    ("operations/UpdateUser.json", lambda d: _remove(d["errors"], "PreconditionNotMetException"),
     ["UpdateUser.errors.PreconditionNotMetException"]),
    ("operations/RegisterUser.json", lambda d: _drop(d["response"]["members"]["Status"], "location"),
     ["RegisterUser.response.members.Status.location"]),
    ("operations/UpdateUser.json", lambda d: _drop(d["response"]["members"], "RequestId"),
     ["UpdateUser.response.members.RequestId"]),
    ("operations/RegisterUser.json", lambda d: _set(d["model"], "input", "CreateUserRequest"),
     ["RegisterUser.model.input"]),
    ("common.json", lambda d: _set(d["errors"]["ThrottlingException"], "status", [400]),
     ["errors.ThrottlingException.status"]),
    ("common.json", lambda d: _remove(d["errors"]["LimitExceededException"]["members"], "ResourceType"),
     ["errors.LimitExceededException.members"]),
    ("common.json", lambda d: _set(d["errors"]["ValidationException"], "modelled", True),
     ["errors.ValidationException.modelled"]),
]


@pytest.fixture
def spec_copy(tmp_path):
    directory = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))

    def edit(file, change):
        path = directory / file
        doc = json.loads(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
        return directory

    return edit


@pytest.mark.parametrize("file,change,expected", SPEC_CHANGES,
                         ids=[e[0] for _, _, e in SPEC_CHANGES])
def test_a_changed_spec_shows_exactly_that_difference(spec_copy, capsys, file, change, expected):
    directory = spec_copy(file, change)
    assert wheres(diff_spec(load_spec(directory))) == expected
    assert spec_diff.main(["--spec-dir", str(directory)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == expected
    assert lines[-1].startswith("spec-diff: 1 unrecorded difference (RegisterUser, UpdateUser against botocore")


@pytest.mark.parametrize("file,change", [
    ("shapes.json", lambda d: _set(d["shapes"]["UserName"], "source", "somewhere else")),
    ("shapes.json", lambda d: _set(d["shapes"]["UserName"], "level", "SHOULD")),
    ("shapes.json", lambda d: _drop(d["shapes"]["AwsAccountId"], "co_broken")),
    ("operations/RegisterUser.json", lambda d: _drop(_member(d, "ExternalLoginFederationProviderType"),
                                                     "not_generated_as_invalid")),
    ("operations/UpdateUser.json", lambda d: _drop(_member(d, "UserName"), "violation_outcome")),
    ("operations/UpdateUser.json", lambda d: _set(d["http"], "success_status", [201])),
    ("operations/RegisterUser.json", lambda d: _set(d["response"]["members"]["User"], "required", False)),
], ids=["source", "level", "co_broken", "not_generated_as_invalid", "violation_outcome", "success_status",
        "response-required"])
def test_spec_only_fields_are_not_compared(spec_copy, file, change):
    assert diff_spec(load_spec(spec_copy(file, change))) == []


def test_every_field_of_a_spec_member_or_shape_is_compared_or_spec_only():
    # A new field in the spec must be classified here before the drift check can be trusted with it.
    known_member = spec_diff.COMPARED_MEMBER_FIELDS | spec_diff.SPEC_ONLY_FIELDS
    for op in SPEC.operations.values():
        for name, member in op.raw["members"].items():
            assert set(member) <= known_member, (op.name, name, set(member) - known_member)
    known_shape = spec_diff.COMPARED_SHAPE_FIELDS | spec_diff.SPEC_ONLY_FIELDS
    for name, shape in SPEC.shapes.items():
        assert set(shape) <= known_shape, (name, set(shape) - known_shape)


def test_json_format(spec_copy, capsys):
    directory = spec_copy("shapes.json", lambda d: _set(d["shapes"]["TagKey"], "max_length", 127))
    assert spec_diff.main(["--spec-dir", str(directory), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [{"operation": None, "where": "shapes.TagKey.max_length", "spec": 127,
                                   "model": 128, "message": "max_length differs"}]
    assert doc["summary"].startswith("spec-diff: 1 unrecorded difference (")


def test_a_difference_is_a_frozen_value():
    d = Difference("RegisterUser", "RegisterUser.members.X.enum", ("A",), None, "m")
    assert d == Difference("RegisterUser", "RegisterUser.members.X.enum", ("A",), None, "m")
    assert len({d, d}) == 1
    with pytest.raises(AttributeError):
        d.where = "y"


def test_a_malformed_spec_exits_2_with_one_line(spec_copy, capsys):
    directory = spec_copy("shapes.json", lambda d: _set(d["shapes"]["UserName"], "min_length", "one"))
    assert spec_diff.main(["--spec-dir", str(directory)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("qsconform spec-diff: spec/shapes.json: shapes/UserName/min_length")
    assert "Traceback" not in captured.err


def test_a_spec_not_json_exits_2(tmp_path, capsys):
    directory = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, directory)
    (directory / "common.json").write_text("{", encoding="utf-8")
    assert spec_diff.main(["--spec-dir", str(directory)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qsconform spec-diff: spec/common.json: line 1 column 2: not valid JSON")
    assert err.count("\n") == 1


def test_a_model_botocore_lacks_exits_2(spec_copy, capsys):
    directory = spec_copy("operations/UpdateUser.json", lambda d: _set(d["model"], "api_version", "2099-01-01"))
    assert spec_diff.main(["--spec-dir", str(directory)]) == 2
    err = capsys.readouterr().err
    assert err == (f"qsconform spec-diff: UpdateUser: botocore {botocore.__version__} "
                   "has no quicksight model 2099-01-01\n")


def test_a_missing_spec_dir_exits_2(tmp_path, capsys):
    assert spec_diff.main(["--spec-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err and "spec directory not found" in err

