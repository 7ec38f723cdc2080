"""`qsconform rules` and `qsconform explain RULE`: find a rule, and see where it is defined, how it is
generated and how it is judged, from the spec itself (nothing here is written per rule), and what a correct
answer looks like (for a response rule, the reference server's answer to an example the rule judges)."""
from __future__ import annotations

import json
from pathlib import Path

from qsconform.conformance.judging.checks import error_answer
from qsconform.spec.model import InputRule, LifecycleRule, MemberRule, ProtocolRule, ResponseRule, Rule, Spec

CHECKS_MODULE = "conformance/judging/checks.py"


def matching(spec: Spec, operation: str | None = None, level: str | None = None,
             category: str | None = None) -> list[Rule]:
    return [r for r in spec.rules if (operation is None or r.operation == operation)
            and (level is None or r.level == level.upper()) and (category is None or r.category == category)]


def rule_table(rules: list[Rule]) -> list[str]:
    """One line per rule: id, level, category, and whether the suite sends it."""
    width = max((len(r.id) for r in rules), default=0)
    return [f"{r.id:<{width}}  {r.level:<8}  {r.category:<11}  {'' if r.sent else 'not sent: ' + (r.why or 'fate unknown')}"
            .rstrip() for r in rules]


def defined_in(spec: Spec, rule: Rule) -> str:
    """The file (and place) a rule is written in, relative to the spec directory."""
    if isinstance(rule, MemberRule):
        member = spec[rule.operation].members.get(rule.member)  # a top-level member; Tags[].Key is not
        value = member.constraints.get(rule.constraint) if member is not None else None
        shown = f" = {json.dumps(value, ensure_ascii=False)}" if value is not None else ""
        return f"spec/shapes.json (the {rule.member} member's {rule.constraint}{shown}; the rule id is derived)"
    local = rule.id.split(".", 1)[1]
    operation_file = Path(spec.directory) / "operations" / f"{rule.operation}.json"
    if operation_file.exists() and f'"id": "{rule.id}"' in operation_file.read_text(encoding="utf-8"):
        return f"spec/operations/{rule.operation}.json"
    return f"spec/common.json (\"{local}\", shared by every operation)"


def generated_by(rule: Rule) -> str:
    if not rule.is_input:
        return "valid requests of the operation (strategies/valid.py) and the boundary examples (strategies/boundaries.py)"
    if not rule.sent:
        return f"never: requests breaking it are not sent ({rule.why or 'no source says what the API answers'})"
    if isinstance(rule, ProtocolRule):
        how = f"a body that breaks the protocol: {rule.protocol_violation} (strategies/violations.py)"
    else:
        how = {"member": "a value outside the constraint (strategies/violations.py, then strategies/invalid.py)",
               "cross": "the rule's condition made true and its demand broken (strategies/violations.py)"}[rule.kind]
    return how + "; its boundary examples first (strategies/boundaries.py)"


def judged_by(spec: Spec, rule: Rule) -> list[str]:
    if isinstance(rule, InputRule):
        op = spec[rule.operation]
        carried = {t: ", ".join(f"{m} {v}" for e, m, v in op.answer_members(rule.outcome) if e == t)
                   for _, t in spec.outcome_answers(rule.outcome)} if rule.outcome else {}
        answers = ", ".join(f"{s} {t}".strip() + (f" ({carried[t]})" if carried.get(t) else "")
                            for s, t in spec.outcome_answers(rule.outcome)) if rule.outcome else ""
        return [f"{CHECKS_MODULE} {error_answer.__name__}: a violating request must be refused with one of: {answers}"
                + (f" (which one: {op.answers_level(rule.outcome)})" if rule.outcome else "")]
    if isinstance(rule, LifecycleRule):
        return ["conformance/engine/lifecycle.py: register, update, describe and delete programs; the canonical one first"]
    assert isinstance(rule, ResponseRule), "the kinds of rule"
    return [f"{CHECKS_MODULE} {rule.check} (applies to {rule.scope} answers)"]


def examples(spec: Spec, rule: Rule) -> list[str]:
    """A valid request and a violating one, from the deterministic boundary examples."""
    from qsconform.strategies import StrategyConfig, boundary_examples

    if rule.operation not in spec.operations:
        return []
    requests = boundary_examples(rule.operation, StrategyConfig(), spec=spec)
    out = []
    valid = next((r for r in requests if r.expected.is_success), None)
    if valid is not None:
        out.append(f"valid:     {_short(valid)}")
    if rule.is_input:
        broken = next((r for r in requests if r.expected.rule_id == rule.id), None)
        if broken is not None:
            out.append(f"violating: {_short(broken)}")
    return out


def correct_answer(spec: Spec, rule: Rule) -> list[str]:
    """What a conforming target answers to an example a response or lifecycle rule judges: for a response rule,
    the answer of the reference server (conformance/reference, written from the pages; the verdict tests prove it
    passes every rule) to the first boundary example the rule's check judges, which that check keeps; for a
    lifecycle rule, the answers its outcome allows."""
    if isinstance(rule, InputRule):
        return []
    if isinstance(rule, LifecycleRule):
        if not rule.outcome:
            return ["DescribeUser after the update answers 200 with the members the update sent"]
        answers = ", ".join(f"{s} {t}".strip() for s, t in spec.outcome_answers(rule.outcome))
        return [f"one of: {answers}"]
    assert isinstance(rule, ResponseRule), "the kinds of rule"
    from qsconform.conformance.judging.checks import Exchange, applies, run_check
    from qsconform.conformance.wire.targets import open_target
    from qsconform.conformance.wire.transport import Transport
    from qsconform.spec.request import Expected, Request
    from qsconform.strategies import StrategyConfig, boundary_examples

    if rule.operation not in spec.operations:
        return []
    op = spec[rule.operation]
    with open_target("reference") as target, Transport(target, spec, backoff=0.001) as transport:
        config = StrategyConfig(account_id=target.account_id, user_prefix="qsc-explain-")
        for request in boundary_examples(rule.operation, config, spec=spec):
            if not rule.judges(valid=request.expected.is_success) or request.expected.level != "MUST":
                continue
            setup = op.setup
            name = request.path_params.get(setup.member) if setup else None
            if setup and isinstance(name, str) and request.expected.is_success:  # the user an update names, registered
                body = dict(setup.body, **{setup.member: name})
                transport.send(Request(setup.operation, {k: v for k, v in request.path_params.items()
                                                         if k != setup.member}, body, Expected("success")))
            response = transport.send(request)
            exchange = Exchange(op, request, response, target.region)
            if not applies(rule, exchange) or run_check(rule, exchange) is not None:
                continue
            headers = ", ".join(f"{k}: {v}" for k, v in response.headers.items()
                                if k.lower() in ("content-type", "x-amzn-requestid", "x-amzn-errortype"))
            body = response.json_body if response.is_json else response.body.decode("utf-8", "replace")
            kind = "the valid" if request.expected.is_success else f"the invalid ({request.expected.rule_id})"
            lines = [f"to {kind} example {_short(request, 160)}",
                     f"status {response.status}" + (f"; {headers}" if headers else "")]
            lines += [f"body {line}" for line in _members(body)]
            return lines
    return []


def _members(body, limit: int = 12) -> list[str]:
    """The body's members, one per line, as JSON paths and values (nested objects flattened)."""
    if not isinstance(body, dict):
        return [json.dumps(body, ensure_ascii=False)[:200]]
    out: list[str] = []

    def walk(value, path: str) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else key)
        else:
            out.append(f"{path} = {json.dumps(value, ensure_ascii=False)[:120]}")

    walk(body, "")
    return out if len(out) <= limit else out[:limit] + [f"... and {len(out) - limit} more members"]


def _short(request, limit: int = 300) -> str:
    body = request.raw_body.decode("utf-8", "backslashreplace") if request.raw_body is not None \
        else json.dumps(request.body, ensure_ascii=True)
    labels = ",".join(f"{k}={v}" for k, v in request.path_params.items())
    text = f"{labels} {body}"
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def explain(spec: Spec, rule: Rule) -> list[str]:
    lines = [rule.id, f"  level:      {rule.level}", f"  category:   {rule.category}", f"  source:     {rule.source}"]
    for item in rule.evidence:
        lines.append(f"  evidence:   {json.dumps(item, ensure_ascii=False)}")
    lines.append(f"  defined in: {defined_in(spec, rule)}")
    lines.append(f"  generated:  {generated_by(rule)}")
    for line in judged_by(spec, rule):
        lines.append(f"  judged by:  {line}")
    lines += [f"  example {line}" for line in examples(spec, rule)]
    answer = correct_answer(spec, rule)
    if answer:
        lines.append(f"  correct answer: {answer[0]}")
        lines += [f"    {line}" for line in answer[1:]]
    return lines


def unknown_rule(spec: Spec, rule_id: str) -> str | None:
    """Why `rule_id` names no rule of the spec, with the closest ids; None when it names one."""
    import difflib

    ids = [r.id for r in spec.rules]
    if rule_id in ids:
        return None
    near = difflib.get_close_matches(rule_id, ids, n=3, cutoff=0.5)
    return f"no rule {rule_id!r}" + (f"; did you mean {', '.join(near)}?" if near else " (qsconform rules lists them)")
