"""Read, validate and interpret the spec files into the types of spec/model.py.

Every file is checked against spec/meta-schema.json, then for what a schema cannot see (a shape, an
outcome or an error named and not defined, a level stronger than its evidence); a malformed spec is
one line naming the file, the JSON path and the problem. Member-constraint rules are derived here
(RegisterUser.UserName.pattern, RegisterUser.Tags[].Key.max_length, ...); cross-field, response and
lifecycle rules are read as written.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import jsonschema

from qsconform.spec import SPEC_DIR
from qsconform.spec.model import (CONSTRAINTS, MODEL_CONSTRAINT, CrossRule, ErrorType, Level, LifecycleRule, Member,
                                  MemberRule, OperationSpec, Protocol, ProtocolRule, ResponseRule, Rule, Spec, SpecError,
                                  error_catalog, protocol_of)
from qsconform.spec.observations import APPLIES, effects, outcome_name, patched_rule, read_observations


# -- reading and validating files ------------------------------------------------

def _read_json(path: Path, directory: Path) -> Any:
    shown = _shown(path, directory)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{shown}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None


def _shown(path: Path, directory: Path) -> str:
    try:
        return f"spec/{path.relative_to(directory).as_posix()}"
    except ValueError:
        return str(path)


def _validate(document: Any, definition: str, meta: dict, shown: str) -> None:
    schema = {"$ref": f"#/$defs/{definition}", "$defs": meta["$defs"]}
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise SpecError(f"{shown}: {where}: {error.message}")


def load_spec(directory: str | Path | None = None, observations: tuple | list = ()) -> Spec:
    """Load every spec file under `directory` (default: the installed spec/), validated, with the observations
    files shipped in its observations/ folder and those given (spec/observations.py) applied."""
    directory = Path(directory) if directory is not None else SPEC_DIR
    if not directory.is_dir():
        raise SpecError(f"{directory}: spec directory not found")
    meta = _read_json(directory / "meta-schema.json", directory)
    common = _read_json(directory / "common.json", directory)
    _validate(common, "commonFile", meta, _shown(directory / "common.json", directory))
    shapes_doc = _read_json(directory / "shapes.json", directory)
    _validate(shapes_doc, "shapesFile", meta, _shown(directory / "shapes.json", directory))
    shapes = shapes_doc["shapes"]
    _check_shapes(shapes, _shown(directory / "shapes.json", directory))
    _check_common(common, _shown(directory / "common.json", directory))
    files = sorted((directory / "operations").glob("*.json"))
    if not files:
        raise SpecError(f"{_shown(directory / 'operations', directory)}: no operation spec files")
    operations = {}
    errors, protocol = error_catalog(common), protocol_of(common)
    for path in files:
        shown = _shown(path, directory)
        raw = _read_json(path, directory)
        _validate(raw, "operationFile", meta, shown)
        op = _build_operation(raw, common, shapes, shown, errors, protocol)
        if not (directory / raw["documentation"]).is_file():
            raise SpecError(f"{shown}: documentation: no page at spec/{raw['documentation']}")
        if op.name in operations:
            raise SpecError(f"{shown}: operation: {op.name} is defined twice")
        operations[op.name] = op
    for op in operations.values():
        setup = op.raw.get("target")
        if setup and setup["setup_operation"] not in operations:
            raise SpecError(f"spec/operations/{op.name}.json: target/setup_operation: "
                            f"unknown operation {setup['setup_operation']!r}")
    spec = Spec(operations=operations, common=common, shapes=shapes, directory=directory, errors=errors,
                protocol=protocol)
    files = [read_observations(p) for p in sorted((directory / "observations").glob("*.json"))]
    files += [read_observations(p) for p in observations]
    return _observed(spec, files) if files else spec


def _observed(spec: Spec, files: list) -> Spec:
    """The spec with the observations that apply applied: each such rule rebuilt from its patched text."""
    found = effects(spec, files)
    patches, outcomes = {}, {}
    for effect in found:
        if effect.kind != APPLIES:
            continue
        op = spec[effect.rule_id.split(".", 1)[0]]
        raw = next(r for r in op.raw["rules"] if r["id"] == effect.rule_id)
        statuses = op.http["success_status"] + op.http.get("tolerated_success_status", [])
        patches[effect.rule_id], outcome = patched_rule(raw, effect, statuses)
        if outcome is not None:
            outcomes[outcome_name(effect.rule_id)] = outcome
    return _rebuilt(spec, patches, outcomes, observations=tuple(found), observation_files=tuple(f.name for f in files))


def probing_spec(spec: Spec, rule_ids) -> Spec:
    """The spec with the cross-field rules named, whose fate is unknown, generated as broken: what
    `qsconform probe` sends to learn their fate. Their expected answer is left empty: a probe judges nothing."""
    patches = {}
    for rule_id in rule_ids:
        op = spec[rule_id.split(".", 1)[0]]
        raw = next(r for r in op.raw["rules"] if r["id"] == rule_id)
        patches[rule_id] = {k: v for k, v in raw.items() if k != "send_as_valid"} | {
            "generate_violations": True, "outcome": "probed"}
    outcome = {"answers": [], "source": "qsconform probe", "level": "SHOULD", "why": "what a probe records"}
    return _rebuilt(spec, patches, {"probed": outcome}, observations=spec.observations,
                    observation_files=spec.observation_files)


def _rebuilt(spec: Spec, patches: dict[str, dict], outcomes: dict[str, dict], **extra) -> Spec:
    """The spec with some cross-field rules (as written) replaced, and outcome classes added."""
    common = dict(spec.common, outcomes={**spec.common["outcomes"], **outcomes})
    operations = {}
    for name, op in spec.operations.items():
        raw = dict(op.raw, rules=[patches.get(r["id"], r) for r in op.raw["rules"]])
        operations[name] = _build_operation(raw, common, spec.shapes, f"spec/operations/{name}.json", spec.errors,
                                            spec.protocol)
    return Spec(operations=operations, common=common, shapes=spec.shapes, directory=spec.directory, errors=spec.errors,
                protocol=spec.protocol, **extra)


@lru_cache(maxsize=None)
def default_spec() -> Spec:
    """The installed spec, loaded once per process."""
    return load_spec()


# -- cross-references the meta-schema cannot see ----------------------------------

def _check_shapes(shapes: dict, shown: str) -> None:
    for name, shape in shapes.items():
        refs = [(f"shapes/{name}/member", shape["member"])] if "member" in shape else []
        refs += [(f"shapes/{name}/members/{n}/shape", m["shape"]) for n, m in shape.get("members", {}).items()]
        for where, ref in refs:
            if ref not in shapes:
                raise SpecError(f"{shown}: {where}: unknown shape {ref!r}")
        for constraint, others in shape.get("co_broken", {}).items():
            for c in [constraint, *others]:
                if c not in shape:
                    raise SpecError(f"{shown}: shapes/{name}/co_broken: the shape has no {c} constraint")


def _check_common(common: dict, shown: str) -> None:
    outcomes, errors = common["outcomes"], common["errors"]
    for part in ("errors", "outcomes", "protocol_rules", "response_rules"):
        entries = common[part].items() if isinstance(common[part], dict) else enumerate(common[part])
        for key, entry in entries:
            check_level(entry["level"], entry.get("evidence", ()), shown, f"{part}/{key}")
    for kind, outcome in common["violation_outcomes"].items():
        if not kind.startswith("$") and outcome not in outcomes:
            raise SpecError(f"{shown}: violation_outcomes/{kind}: unknown outcome {outcome!r}")
    for name, outcome in outcomes.items():
        for i, (_, error) in enumerate(outcome["answers"]):
            if error and error not in errors:
                raise SpecError(f"{shown}: outcomes/{name}/answers/{i}: {error!r} is not in the error catalog")
        for error, members in outcome.get("answer_members", {}).items():
            if error not in {e for _, e in outcome["answers"]}:
                raise SpecError(f"{shown}: outcomes/{name}/answer_members: {error!r} is none of the outcome's answers")
            unknown = set(members) - set(errors[error]["members"])
            if unknown:
                raise SpecError(f"{shown}: outcomes/{name}/answer_members/{error}: {sorted(unknown)[0]!r} is no member of {error}")
    for i, rule in enumerate(common["protocol_rules"]):
        if rule["outcome"] not in outcomes:
            raise SpecError(f"{shown}: protocol_rules/{i}/outcome: unknown outcome {rule['outcome']!r}")


def _check_references(raw: dict, members: dict, common: dict, shown: str) -> None:
    response = raw["response"]
    for i, e in enumerate(response["echo"]):
        if e["request"] not in members:
            raise SpecError(f"{shown}: response/echo/{i}/request: unknown member {e['request']!r}")
        if e["response"].split(".")[0] not in response["members"]:
            raise SpecError(f"{shown}: response/echo/{i}/response: unknown response member {e['response']!r}")
    for i, d in enumerate(raw.get("deviations", [])):
        if d["member"] not in members:
            raise SpecError(f"{shown}: deviations/{i}/member: unknown member {d['member']!r}")
    for i, r in enumerate(raw["rules"]):
        for n in r.get("violation_values", {}):
            if n not in members:
                raise SpecError(f"{shown}: rules/{i}/violation_values: unknown member {n!r}")
        conditions = [("when", n, c) for n, c in r["when"].items()]
        conditions += [("then/members", n, c) for n, c in r["then"].get("members", {}).items()]
        for part, n, cond in conditions:
            enum = members[n].constraints.get("enum")
            for key in ("in", "not_in"):
                unknown = [v for v in cond.get(key, []) if enum and isinstance(v, str)
                           and not v.startswith("$") and v not in enum]
                if unknown:
                    raise SpecError(f"{shown}: rules/{i}/{part}/{n}/{key}: {unknown[0]!r} is not a value of {n}")


# -- evidence -----------------------------------------------------------------------

def check_level(level: str, evidence, shown: str, where: str) -> None:
    """A MUST rests on a page or the model, an OBSERVED on an observation item (docs/levels.md)."""
    kinds = {k for e in evidence for k in ("page", "model", "observation", "recording") if k in e}
    if level == "MUST" and not kinds & {"page", "model"}:
        raise SpecError(f"{shown}: {where}: level MUST needs evidence quoting a page or naming a model path")
    if level == "OBSERVED" and not kinds & {"observation", "recording"}:
        raise SpecError(f"{shown}: {where}: level OBSERVED needs evidence naming an observation item or a recording")


def _for_operation(evidence, operation: str) -> tuple:
    """Evidence of a rule written once for every operation ({operation} in spec/common.json)."""
    return tuple({k: v.replace("{operation}", operation) if isinstance(v, str) else v for k, v in e.items()}
                 for e in evidence)


def member_evidence(input_shape: str, parent: str | None, member: "Member", constraint: str) -> tuple:
    """The model paths a member constraint rule rests on (the spec's shapes are named as in the model)."""
    holder = parent or input_shape
    if constraint == "required":
        return ({"model": f"shapes/{holder}/required", "contains": member.name},)
    if constraint == "type":
        if member.path.endswith("[]"):
            return ({"model": f"shapes/{holder}/member"},)
        return ({"model": f"shapes/{holder}/members/{member.name}"},)
    value = member.constraints[constraint]
    return ({"model": f"shapes/{member.shape}/{MODEL_CONSTRAINT[constraint]}", "equals": value},)


# -- interpretation ---------------------------------------------------------------

def _resolve(name: str, path: str, location: str, required: bool, extra: dict, shapes: dict,
             shown: str, where: str, source: str, level: str) -> Member:
    shape_name = extra["shape"]
    if shape_name not in shapes:
        raise SpecError(f"{shown}: {where}/shape: unknown shape {shape_name!r}")
    shape = shapes[shape_name]
    constraints = {k: shape[k] for k in CONSTRAINTS if k in shape}
    constraints.update({k: extra[k] for k in CONSTRAINTS if k in extra})
    item = None
    members: tuple[Member, ...] = ()
    if shape["type"] == "list":
        item = _resolve("member", f"{path}[]", "item", True, {"shape": shape["member"]}, shapes,
                        shown, f"{where}/member", shape["source"], shape["level"])
    if shape["type"] == "structure":
        members = tuple(
            _resolve(n, f"{path}.{n}", "item",
                     bool(m.get("required")), m, shapes, shown, f"{where}/members/{n}", shape["source"], shape["level"])
            for n, m in shape["members"].items()
        )
    return Member(
        name=name, path=path, location=location, type=shape["type"], required=required,
        constraints=constraints, source=source, level=Level(level), shape=shape_name, item=item, members=members,
        not_generated_as_invalid=tuple(extra.get("not_generated_as_invalid", ())),
        violation_outcome=extra.get("violation_outcome"),
        co_broken=shape.get("co_broken", {}),
        constraint_levels=extra.get("constraint_levels", {}),
    )


def _member_rules(op: str, member: Member, common: dict, input_shape: str, shown: str,
                  parent: str | None = None) -> list[MemberRule]:
    """The rules a member's own constraints give, one per constraint.

    Each rests on the model's definition of the member (its paths are derived); a constraint the
    member adds of its own (an enum the pages give in prose) carries its own level and evidence.
    """
    outcomes = common["violation_outcomes"]
    rules: list[MemberRule] = []

    def add(constraint: str, **kw: Any) -> None:
        outcome = member.violation_outcome or outcomes.get(constraint, "invalid_value")
        co = tuple(f"{op}.{member.path}.{c}" for c in member.co_broken.get(constraint, ()))
        own = member.constraint_levels.get(constraint)
        level, source = (own["level"], own["source"]) if own else (member.level, member.source)
        evidence = tuple(own.get("evidence", ())) if own else member_evidence(input_shape, parent, member, constraint)
        rule_id = f"{op}.{member.path}.{constraint}"
        check_level(level, evidence, shown, rule_id)
        rules.append(MemberRule(id=rule_id, operation=op, level=Level(level), source=source, outcome=outcome,
                                member=member.path, constraint=constraint, co_broken=co, evidence=evidence, **kw))

    if member.location != "uri":
        # A URI label is always present and always a string: these cannot be broken in a request.
        # A list item has no name to leave out, so it has no required rule either.
        if member.required and not member.path.endswith("[]"):
            add("required")
        add("type")
    for constraint in CONSTRAINTS:
        if constraint not in member.constraints:
            continue
        if member.location == "uri" and constraint == "min_length" and member.constraints[constraint] <= 1:
            add(constraint, generate_violations=False,
                why="An empty URI label changes the request path, so no server sees it as this operation.")
        elif constraint == "pattern" and re.search(member.constraints["pattern"], "") is not None \
                and not member.constraints["pattern"].startswith("^"):
            add(constraint, generate_violations=False,
                why="Read unanchored, the pattern matches every string (it matches the empty string), so no value breaks it under every reading.")
        else:
            add(constraint)
    if member.item is not None:
        rules.extend(_member_rules(op, member.item, common, input_shape, shown, parent=member.shape))
    for sub in member.members:
        rules.extend(_member_rules(op, sub, common, input_shape, shown, parent=member.shape))
    return rules


def _build_operation(raw: dict, common: dict, shapes: dict, shown: str, errors: Mapping[str, ErrorType],
                     protocol: Protocol) -> OperationSpec:
    name = raw["operation"]
    members = {}
    for mname, m in raw["members"].items():
        members[mname] = _resolve(mname, mname, m["location"], m["required"], m, shapes, shown,
                                  f"members/{mname}", m["source"], m["level"])
        if m.get("violation_outcome") and m["violation_outcome"] not in common["outcomes"]:
            raise SpecError(f"{shown}: members/{mname}/violation_outcome: unknown outcome {m['violation_outcome']!r}")
    labels = set(re.findall(r"{(\w+)}", raw["http"]["uri"]))
    uri_members = {n for n, m in members.items() if m.location == "uri"}
    if labels != uri_members:
        raise SpecError(f"{shown}: http/uri: labels {sorted(labels)} do not match the uri members {sorted(uri_members)}")

    rules: list[Rule] = []
    for m in members.values():
        rules.extend(_member_rules(name, m, common, raw["model"]["input"], shown))

    outcomes = common["outcomes"]
    for i, r in enumerate(raw["rules"]):
        where = f"rules/{i}"
        if not r["id"].startswith(name + "."):
            raise SpecError(f"{shown}: {where}/id: {r['id']!r} must start with {name + '.'!r}")
        for part in ("when", "then"):
            names = list(r[part]) if part == "when" else (
                r["then"].get("required", []) + r["then"].get("forbidden", []) + list(r["then"].get("members", {})))
            for n in names:
                if n not in members:
                    raise SpecError(f"{shown}: {where}/{part}: unknown member {n!r}")
        gen = r.get("generate_violations", True)
        if gen and r["outcome"] not in outcomes:
            raise SpecError(f"{shown}: {where}/outcome: unknown outcome {r['outcome']!r}")
        if r.get("send_as_valid") and gen:
            raise SpecError(f"{shown}: {where}/send_as_valid: needs generate_violations false (its violations are sent as valid)")
        rules.append(_cross_rule(name, r, gen))

    for r in common["protocol_rules"]:
        rules.append(ProtocolRule(id=f"{name}.{r['id']}", operation=name, level=Level(r["level"]), source=r["source"],
                                  outcome=r["outcome"], evidence=_for_operation(r.get("evidence", ()), name),
                                  why=r.get("why", ""), protocol_violation=r["violation"]))
    for r in common["response_rules"] + raw["response_rules"]:
        rid = r["id"] if r["id"].startswith(name + ".") else f"{name}.{r['id']}"
        rules.append(ResponseRule(id=rid, operation=name, level=Level(r["level"]), source=r["source"],
                                  evidence=_for_operation(r.get("evidence", ()), name), why=r.get("why", ""),
                                  check=r["check"], scope=r["applies_to"], params=MappingProxyType(r.get("params", {})),
                                  category="error-shape" if r["applies_to"] == "error" else "response"))
    for i, r in enumerate(raw.get("lifecycle_rules", [])):
        if r["outcome"] is not None and r["outcome"] not in outcomes:
            raise SpecError(f"{shown}: lifecycle_rules/{i}/outcome: unknown outcome {r['outcome']!r}")
        back = r.get("read_back")
        rules.append(LifecycleRule(id=r["id"], operation=name, level=Level(r["level"]), source=r["source"],
                                   outcome=r["outcome"], evidence=tuple(r.get("evidence", ())), why=r.get("why", ""),
                                   persists=tuple(r.get("persists", ())),
                                   read_back=(back["operation"], back["reads"]) if back else None))
    for r in rules:
        if r.kind != "member":
            check_level(r.level, r.evidence, shown, r.id)
    for i, e in enumerate(raw["response"]["echo"]):
        check_level(e.get("level", "SHOULD"), e.get("evidence", ()), shown, f"response/echo/{i}")

    for e in raw["errors"]:
        if e not in common["errors"]:
            raise SpecError(f"{shown}: errors: {e!r} is not in the error catalog (spec/common.json)")
    seen = set()
    for r in rules:
        if r.id in seen:
            raise SpecError(f"{shown}: rules: rule id {r.id!r} is defined twice")
        seen.add(r.id)
    _check_references(raw, members, common, shown)
    return OperationSpec(name=name, raw=raw, http=raw["http"], members=members, rules=tuple(rules),
                         common=common, shapes=shapes, errors=errors, protocol=protocol)


def _cross_rule(operation: str, r: dict, generate_violations: bool) -> CrossRule:
    """A cross-field rule as written (meta-schema "crossRule")."""
    return CrossRule(id=r["id"], operation=operation, level=Level(r["level"]), source=r["source"],
                     outcome=r.get("outcome"), generate_violations=generate_violations, why=r.get("why", ""),
                     evidence=tuple(r.get("evidence", ())), send_as_valid=bool(r.get("send_as_valid")),
                     when=MappingProxyType(r["when"]), then=MappingProxyType(r["then"]),
                     then_lenient=MappingProxyType(r.get("then_lenient", r["then"])),
                     violation_values=MappingProxyType({m: tuple(v) for m, v in r.get("violation_values", {}).items()}),
                     unless_configured=r.get("unless_configured"), not_probed=r.get("not_probed"))
