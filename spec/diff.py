"""Drift check: the spec against the QuickSight model shipped in the installed botocore.

`diff_spec` lists every place where the spec says something other than the model: the HTTP binding,
the request members (location, required, shape and constraints), the output members, the errors, and
every shape these reach, compared shape by shape. A difference an operation's `deviations` record (same
member, same constraint) is a known one and is not listed. A deviation is itself checked: the model
value it records must still be the model's, and the spec must hold the value it says it follows, so a
model change under a deviation is listed rather than hidden by it.

Run as `qsconform spec-diff`: exit 0 when there is no unrecorded difference, 1 when there are some,
2 when the spec cannot be read.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator

from botocore.exceptions import DataNotFoundError

from qsconform.spec.loader import load_spec

from qsconform.spec.model import CONSTRAINTS, Member, Spec, SpecError
from qsconform.spec.service import botocore_version, service_model

# Fields of the spec the model has no counterpart of: they say how to test the API, not what it is.
SPEC_ONLY_FIELDS = frozenset({
    "source", "level", "co_broken", "not_generated_as_invalid", "violation_outcome", "not_checked",
    "documentation", "success_status", "tolerated_success_status", "success_status_source",
    "success_status_why", "status_member", "target", "rules", "lifecycle_rules", "response_rules",
    "user_required", "echo", "deviations", "evidence", "constraint_levels",
})
# The fields of a request member and of a shape that are compared with the model.
COMPARED_MEMBER_FIELDS = frozenset({"location", "shape", "required", *CONSTRAINTS})
COMPARED_SHAPE_FIELDS = frozenset({"type", "member", "members", *CONSTRAINTS})

# The model says min/max for both string lengths and list sizes; the spec names them apart.
_BOUNDS = {"string": ("min_length", "max_length"), "list": ("min_items", "max_items")}


@dataclass(frozen=True)
class Difference:
    """One place where the spec and the model disagree."""

    operation: str | None  # None for the shapes and errors the operations share
    where: str  # "RegisterUser.members.UserName.pattern", "shapes.TagKey.max_length", "errors.X.status"
    spec: Any
    model: Any
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} (spec: {_show(self.spec)}; model: {_show(self.model)})"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _frozen(value: Any) -> Any:
    """Lists as tuples, so that a Difference can be hashed and compared."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def model_constraints(shape: dict) -> dict[str, Any]:
    """A model shape's constraints in the spec's vocabulary (min/max of a string are lengths, of a list sizes)."""
    low, high = _BOUNDS.get(shape["type"], ("min", "max"))
    found = {}
    for key, name in (("min", low), ("max", high), ("pattern", "pattern"), ("enum", "enum")):
        if key in shape:
            found[name] = shape[key]
    return found


def spec_constraints(shape: dict) -> dict[str, Any]:
    return {k: shape[k] for k in CONSTRAINTS if k in shape}


def _same(constraint: str, a: Any, b: Any) -> bool:
    if constraint == "enum" and a is not None and b is not None:
        return sorted(a) == sorted(b)
    return a == b


def _constraint_message(constraint: str, spec_value: Any, model_value: Any) -> str:
    if model_value is None:
        return f"the spec sets {constraint}, the model does not"
    if spec_value is None:
        return f"the model sets {constraint}, the spec does not"
    if constraint == "enum":
        only_spec = [v for v in spec_value if v not in model_value]
        only_model = [v for v in model_value if v not in spec_value]
        return f"enum values only in the spec: {_show(only_spec)}; only in the model: {_show(only_model)}"
    return f"{constraint} differs"


def _constraint_differences(spec_c: dict, model_c: dict) -> Iterator[tuple[str, Any, Any]]:
    order = list(CONSTRAINTS) + sorted(set(model_c) - set(CONSTRAINTS))
    for name in order:
        if name in spec_c or name in model_c:
            if not _same(name, spec_c.get(name), model_c.get(name)):
                yield name, spec_c.get(name), model_c.get(name)


def _model_location(ref: dict) -> str:
    return ref.get("location", "body")


class _Differ:
    """Collects differences, each with the (operation, member path, constraint) deviations that would record it."""

    def __init__(self, spec: Spec, models: dict[str, dict]):
        self.spec = spec
        self.models = models  # operation -> its service model
        self.found: list[tuple[Difference, tuple[tuple[str, str, str], ...]]] = []
        self.users: dict[tuple[str, int], set[tuple[str, str]]] = {}  # (shape, model) -> {(operation, path)}
        self.model_of: dict[int, dict] = {}
        self.seen_errors: set[tuple[str, int]] = set()

    def add(self, operation: str | None, where: str, spec_value: Any, model_value: Any, message: str,
            keys: Iterable[tuple[str, str, str]] = ()) -> None:
        diff = Difference(operation, where, _frozen(spec_value), _frozen(model_value), message)
        self.found.append((diff, tuple(keys)))

    def recorded(self, keys: tuple[tuple[str, str, str], ...]) -> bool:
        """A difference is recorded when every member it touches has a deviation for its constraint.

        A deviation that follows the model records none: the spec then holds the model's value."""
        if not keys:
            return False
        for op, path, constraint in keys:
            entries = self.spec.operations[op].raw.get("deviations", [])
            if not any(d["member"] == path and d["constraint"] == constraint and d["follows"] != "model"
                       for d in entries):
                return False
        return True

    # -- operations -----------------------------------------------------------------

    def operation(self, name: str) -> None:
        raw = self.spec.operations[name].raw
        model = self.models[name]
        binding = raw["model"]
        model_op = model["operations"].get(binding["operation"])
        if model_op is None:
            self.add(name, f"{name}.model.operation", binding["operation"], None, "the model has no such operation")
            return
        for part in ("input", "output"):
            if binding[part] != model_op[part]["shape"]:
                self.add(name, f"{name}.model.{part}", binding[part], model_op[part]["shape"],
                         f"the spec names another {part} shape than the model")
        http = model_op["http"]
        if raw["http"]["method"] != http["method"]:
            self.add(name, f"{name}.http.method", raw["http"]["method"], http["method"], "HTTP method differs")
        if raw["http"]["uri"] != http["requestUri"]:
            self.add(name, f"{name}.http.uri", raw["http"]["uri"], http["requestUri"], "request URI differs")
        self.request(name, raw, model, model["shapes"][model_op["input"]["shape"]])
        self.response(name, raw, model, model_op)
        self.errors(name, raw, model, model_op)
        self.deviations(name, raw, model, model_op)

    def request(self, op: str, raw: dict, model: dict, input_shape: dict) -> None:
        members, model_members = raw["members"], input_shape["members"]
        required = set(input_shape.get("required", ()))
        for name in model_members:
            if name not in members:
                self.add(op, f"{op}.members.{name}", None, model_members[name]["shape"],
                         "a request member of the model the spec lacks", [(op, name, "exists")])
        for name, member in members.items():
            where = f"{op}.members.{name}"
            ref = model_members.get(name)
            if ref is None:
                self.add(op, where, member["shape"], None, "a request member the model lacks", [(op, name, "exists")])
                continue
            location = _model_location(ref)
            if member["location"] != location:
                self.add(op, f"{where}.location", member["location"], location, "location differs",
                         [(op, name, "location")])
            elif location == "uri" and ref.get("locationName", name) != name:
                self.add(op, f"{where}.location", name, ref["locationName"],
                         "the model binds the member to another URI label", [(op, name, "location")])
            if member["required"] != (name in required):
                self.add(op, f"{where}.required", member["required"], name in required, "required differs",
                         [(op, name, "required")])
            if self.reference(op, name, where, member["shape"], ref["shape"], model):
                self.member_constraints(op, name, where, member, model["shapes"][ref["shape"]])

    def member_constraints(self, op: str, name: str, where: str, member: dict, model_shape: dict) -> None:
        """Constraints a member sets on top of its shape, compared on the effective values.

        Constraints the member takes from its shape unchanged are compared once, with the shape."""
        own = spec_constraints(member)
        if not own:
            return
        effective = {**spec_constraints(self.spec.shapes[member["shape"]]), **own}
        for constraint, spec_value, model_value in _constraint_differences(effective, model_constraints(model_shape)):
            if constraint in own:
                self.add(op, f"{where}.{constraint}", spec_value, model_value,
                         _constraint_message(constraint, spec_value, model_value), [(op, name, constraint)])

    def reference(self, op: str, path: str, where: str, spec_shape: str, model_shape: str, model: dict) -> bool:
        """Compare the shape names of a reference; when they agree, walk the shape for comparison later."""
        if spec_shape not in self.spec.shapes:
            self.add(op, f"{where}.shape", spec_shape, model_shape, "the spec names a shape spec/shapes.json lacks")
            return False
        if spec_shape != model_shape:
            self.add(op, f"{where}.shape", spec_shape, model_shape,
                     "the spec names another shape than the model (compared further once the names agree)",
                     [(op, path, "shape")])
            return False
        self.reach(op, path, spec_shape, model)
        return True

    def reach(self, op: str, path: str, shape_name: str, model: dict) -> None:
        """Note that a member at `path` of `op` uses the shape, and walk into lists and structures."""
        users = self.users.setdefault((shape_name, id(model)), set())
        self.model_of[id(model)] = model
        if (op, path) in users:
            return
        users.add((op, path))
        spec_shape, model_shape = self.spec.shapes[shape_name], model["shapes"].get(shape_name)
        if model_shape is None or spec_shape["type"] != model_shape["type"]:
            return
        if spec_shape["type"] == "list" and spec_shape["member"] == model_shape["member"]["shape"] \
                and spec_shape["member"] in self.spec.shapes:
            self.reach(op, f"{path}[]", spec_shape["member"], model)
        if spec_shape["type"] == "structure":
            for name, sub in spec_shape["members"].items():
                ref = model_shape["members"].get(name)
                if ref is not None and sub["shape"] == ref["shape"] and sub["shape"] in self.spec.shapes:
                    self.reach(op, f"{path}.{name}", sub["shape"], model)

    def response(self, op: str, raw: dict, model: dict, model_op: dict) -> None:
        response = raw["response"]
        output = model["shapes"][model_op["output"]["shape"]]
        if response["shape"] != model_op["output"]["shape"]:
            self.add(op, f"{op}.response.shape", response["shape"], model_op["output"]["shape"],
                     "the spec names another output shape than the model")
        members, model_members = response["members"], output["members"]
        for name in model_members:
            if name not in members:
                self.add(op, f"{op}.response.members.{name}", None, model_members[name]["shape"],
                         "an output member of the model the spec lacks")
        for name, member in members.items():
            where = f"{op}.response.members.{name}"
            ref = model_members.get(name)
            if ref is None:
                self.add(op, where, member["shape"], None, "an output member the model lacks")
                continue
            if member.get("location") != ref.get("location"):
                self.add(op, f"{where}.location", member.get("location"), ref.get("location"), "location differs")
            self.reference(op, f"response.{name}", where, member["shape"], ref["shape"], model)

    def errors(self, op: str, raw: dict, model: dict, model_op: dict) -> None:
        model_errors = [e["shape"] for e in model_op.get("errors", ())]
        for name in model_errors:
            if name not in raw["errors"]:
                self.add(op, f"{op}.errors.{name}", None, name, "an error of the model the spec's operation lacks")
        for name in raw["errors"]:
            if name not in model_errors:
                self.add(op, f"{op}.errors.{name}", name, None, "an error of the spec's operation the model lacks")
        for name in dict.fromkeys(model_errors + list(raw["errors"])):
            self.error(name, model)

    def error(self, name: str, model: dict) -> None:
        """A catalog entry (spec/common.json errors) against the model's error shape of that name."""
        if (name, id(model)) in self.seen_errors:
            return
        self.seen_errors.add((name, id(model)))
        entry = self.spec.common["errors"].get(name)
        shape = model["shapes"].get(name)
        is_modelled = bool(shape and shape.get("exception"))
        if entry is None:
            self.add(None, f"errors.{name}", None, name, "an error of the model the spec's error catalog lacks")
            return
        if entry["modelled"] != is_modelled:
            self.add(None, f"errors.{name}.modelled", entry["modelled"], is_modelled,
                     "the catalog says the error is modelled" if entry["modelled"] else
                     "the model defines the error, the catalog says it is not modelled")
        if not is_modelled:
            return
        status = shape.get("error", {}).get("httpStatusCode", 400)
        if status not in entry["status"]:
            self.add(None, f"errors.{name}.status", entry["status"], status,
                     "the model's HTTP status is not among the catalog's")
        if sorted(entry["members"]) != sorted(shape.get("members", {})):
            self.add(None, f"errors.{name}.members", entry["members"], list(shape.get("members", {})),
                     "error members differ")

    def deviations(self, op: str, raw: dict, model: dict, model_op: dict) -> None:
        """Each recorded deviation must still describe the model, and the spec must follow it as it says."""
        paths = {m.path: m for m in _walk_members(self.spec.operations[op].members.values())}
        for dev in raw.get("deviations", ()):
            path, constraint = dev["member"], dev["constraint"]
            where = f"{op}.deviations.{path}.{constraint}"
            if path not in paths:
                self.add(op, where, path, None, "the deviation names no member of the operation")
                continue
            if constraint not in CONSTRAINTS and constraint != "required":
                continue  # nothing the model states for this constraint to check the record against
            resolved = _resolve_model_path(model, model_op["input"]["shape"], path)
            if resolved is None:
                continue  # the member's own difference is listed already
            shape, required = resolved
            model_value = required if constraint == "required" else model_constraints(shape).get(constraint)
            spec_value = paths[path].required if constraint == "required" else paths[path].constraints.get(constraint)
            if not _same(constraint, dev["model"], model_value):
                self.add(op, where, dev["model"], model_value,
                         "the deviation records a model value the model no longer has")
            # A spec that follows the model yet differs from it is listed as that member's difference.
            if dev["follows"] == "doc" and not _same(constraint, spec_value, dev["doc"]):
                self.add(op, where, spec_value, model_value,
                         f"the deviation says the spec follows the doc ({_show(dev['doc'])}), "
                         "but the spec holds another value")

    # -- shapes ---------------------------------------------------------------------

    def shapes(self) -> None:
        """Compare every shape reached from an operation once, and every other spec shape by its name."""
        reached = {name for name, _ in self.users}
        for (name, key), users in sorted(self.users.items(), key=lambda kv: kv[0][0]):
            self.shape(name, self.model_of[key], users)
        any_model = next(iter(self.models.values()), None)
        for name in self.spec.shapes:
            if name in reached or any_model is None:
                continue
            if name not in any_model["shapes"]:
                self.add(None, f"shapes.{name}", self.spec.shapes[name]["type"], None,
                         "the model has no shape of this name")
            else:
                self.shape(name, any_model, set())

    def shape(self, name: str, model: dict, users: set[tuple[str, str]]) -> None:
        spec_shape, model_shape = self.spec.shapes[name], model["shapes"].get(name)
        where = f"shapes.{name}"

        def keys(suffix: str, constraint: str) -> list[tuple[str, str, str]]:
            return [(op, path + suffix, constraint) for op, path in sorted(users)]

        if model_shape is None:
            self.add(None, where, spec_shape["type"], None, "the model has no shape of this name")
            return
        if spec_shape["type"] != model_shape["type"]:
            self.add(None, f"{where}.type", spec_shape["type"], model_shape["type"], "type differs",
                     keys("", "type"))
            return
        for constraint, spec_value, model_value in _constraint_differences(
                spec_constraints(spec_shape), model_constraints(model_shape)):
            self.add(None, f"{where}.{constraint}", spec_value, model_value,
                     _constraint_message(constraint, spec_value, model_value), keys("", constraint))
        if spec_shape["type"] == "list" and spec_shape["member"] != model_shape["member"]["shape"]:
            self.add(None, f"{where}.member", spec_shape["member"], model_shape["member"]["shape"],
                     "the list's item shape differs", keys("[]", "shape"))
        if spec_shape["type"] == "structure":
            self.structure_members(where, spec_shape, model_shape, keys)

    def structure_members(self, where: str, spec_shape: dict, model_shape: dict, keys) -> None:
        members, model_members = spec_shape["members"], model_shape["members"]
        required = set(model_shape.get("required", ()))
        for name in model_members:
            if name not in members:
                self.add(None, f"{where}.members.{name}", None, model_members[name]["shape"],
                         "a member of the model's shape the spec lacks", keys(f".{name}", "exists"))
        for name, member in members.items():
            at = f"{where}.members.{name}"
            ref = model_members.get(name)
            if ref is None:
                self.add(None, at, member["shape"], None, "a member the model's shape lacks",
                         keys(f".{name}", "exists"))
                continue
            if bool(member.get("required")) != (name in required):
                self.add(None, f"{at}.required", bool(member.get("required")), name in required,
                         "required differs", keys(f".{name}", "required"))
            if member.get("location") != ref.get("location"):
                self.add(None, f"{at}.location", member.get("location"), ref.get("location"), "location differs",
                         keys(f".{name}", "location"))
            if member["shape"] != ref["shape"]:
                self.add(None, f"{at}.shape", member["shape"], ref["shape"],
                         "the spec names another shape than the model (compared further once the names agree)",
                         keys(f".{name}", "shape"))

    def catalog(self) -> None:
        """Catalog errors no operation names are still checked for being (or not being) in the model."""
        for model in {id(m): m for m in self.models.values()}.values():
            for name in self.spec.common["errors"]:
                self.error(name, model)


def _walk_members(members: Iterable[Member]) -> Iterator[Member]:
    for m in members:
        yield m
        if m.item is not None:
            yield from _walk_members([m.item])
        yield from _walk_members(m.members)


def _resolve_model_path(model: dict, input_shape: str, path: str) -> tuple[dict, bool] | None:
    """The model shape and required flag of a member path such as "Tags[].Key", or None if it has none."""
    shapes = model["shapes"]
    shape, required = shapes[input_shape], False
    for token in re.findall(r"\w+|\[\]", path):
        if token == "[]":
            if shape["type"] != "list":
                return None
            shape, required = shapes[shape["member"]["shape"]], True
        else:
            ref = shape.get("members", {}).get(token) if shape["type"] == "structure" else None
            if ref is None:
                return None
            required = token in shape.get("required", ())
            shape = shapes[ref["shape"]]
    return shape, required


class ModelNotFoundError(LookupError):
    """The installed botocore has no model of the service and API version an operation spec names."""


def _models_for(spec: Spec, model: dict | None) -> dict[str, dict]:
    if model is not None:
        return {name: model for name in spec.operations}
    models = {}
    for name, op in spec.operations.items():
        service, version = op.raw["model"]["service"], op.raw["model"]["api_version"]
        try:
            models[name] = service_model(service, version)
        except DataNotFoundError:  # UnknownServiceError is one too; its message lists every service
            raise ModelNotFoundError(f"{name}: botocore {botocore_version()} has no {service} model "
                                     f"{version}") from None
    return models


def _all_differences(spec: Spec, model: dict | None) -> list[tuple[Difference, bool]]:
    differ = _Differ(spec, _models_for(spec, model))
    for name in spec.operations:
        differ.operation(name)
    differ.shapes()
    differ.catalog()
    unique: dict[Difference, bool] = {}
    for diff, keys in differ.found:
        unique.setdefault(diff, differ.recorded(keys))
    return list(unique.items())


def diff_spec(spec: Spec, model: dict | None = None) -> list[Difference]:
    """Every difference between the spec and the model that no deviation of the spec records.

    `model` is a botocore service-2 model as a dict; by default, the installed botocore's model of the
    service and API version each operation's "model" block names."""
    return [d for d, recorded in _all_differences(spec, model) if not recorded]


def recorded_differences(spec: Spec, model: dict | None = None) -> list[Difference]:
    """The differences the spec's deviations record (known and deliberate)."""
    return [d for d, recorded in _all_differences(spec, model) if recorded]


# -- command line ---------------------------------------------------------------------

def _summary(spec: Spec, count: int) -> str:
    models = sorted({f"{op.raw['model']['service']} {op.raw['model']['api_version']}"
                     for op in spec.operations.values()})
    noun = "difference" if count == 1 else "differences"
    return (f"spec-diff: {count} unrecorded {noun} ({', '.join(spec.operations)} against botocore "
            f"{botocore_version()} {', '.join(models)})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qsconform spec-diff",
        description="List every difference between the spec and the QuickSight model in the installed botocore "
                    "that the spec does not record as a deviation.")
    parser.add_argument("--spec-dir", default=None, help="spec directory (default: the installed spec)")
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="text for people (default), json for tools")
    return parser


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        spec = load_spec(ns.spec_dir)
        differences = diff_spec(spec)
    except SpecError as exc:
        print(f"qsconform spec-diff: {exc}", file=sys.stderr)
        return 2
    except ModelNotFoundError as exc:
        print(f"qsconform spec-diff: {exc}", file=sys.stderr)
        return 2
    summary = _summary(spec, len(differences))
    if ns.format == "json":
        print(json.dumps({"differences": [asdict(d) for d in differences], "summary": summary},
                         indent=2, ensure_ascii=False))
    else:
        for d in differences:
            print(d)
        print(summary)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
