"""A failure's stand-alone reproduction: every request it needs, in order, against a target that has nothing yet.

A report's curl line is the failing request alone, sent to the port of a server the run may have stopped: an
update needs the user it names, a lifecycle failure the program before it. So each deviation's evidence also
carries `steps` (compliance.json): the setup requests (the user an update names, registered as a run registers
it), the requests a lifecycle program sent before (as they were sent), the judged one, and the cleanup (every
user the steps may have registered, deleted). Each step is data: operation, method, path (the target left
out), labels, the body's exact bytes, the answer the run got, and why it is there.

From them: `repro.sh` in the report directory (render/script.py: `QSC_TARGET=http://... sh repro.sh RULE`), and
`qsconform repro RULE --report DIR --target URL` (here: `replay`), which sends them and judges the answer again
with the rule's own check.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from qsconform.conformance.judging.checks import Deviation, Exchange, applies, run_check, user_name_of
from qsconform.conformance.reporting.render.common import body_of, steps_of
from qsconform.spec.model import InputRule, LifecycleRule, ResponseRule, Rule, Spec
from qsconform.spec.request import Expected, Request

ROLES = ("setup", "step", "judged", "cleanup")  # before the judged request: set up (derived) or sent by a program


def step(transport, role: str, operation: str, path_params: Mapping[str, Any], body: bytes | None, why: str,
         response=None) -> dict:
    """One step as the evidence keeps it."""
    method, path = transport.binding(operation, path_params)
    out: dict = {"role": role, "operation": operation, "method": method, "path": path,
                 "path_params": dict(path_params), "why": why}
    if body:
        out["content_type"] = transport.protocol.request_content_type
        try:
            text = body.decode("utf-8")
            if "\x00" in text:
                raise ValueError("a NUL cannot go in a shell argument")
            out["body"] = text
        except ValueError:
            out["body_base64"] = base64.b64encode(body).decode("ascii")
    if response is not None:
        out["answered"] = answered(response)
    return out


def answered(response) -> str:
    return f"{response.status} {response.error_type or ''}".strip()


def _registered(operation: str, setup_operation: str, path_params, body: bytes | None, response) -> str | None:
    """The user a registration made (or may have made): named in its answer, else as its request names it."""
    if operation != setup_operation:
        return None
    if response is not None and 200 <= response.status < 300 and response.is_json \
            and isinstance(response.json_body, dict):
        name = (response.json_body.get("User") or {}).get("UserName")
        if isinstance(name, str):
            return name
    try:
        members = json.loads(body) if body else {}
    except ValueError:
        return None
    if not isinstance(members, dict):
        return None
    return user_name_of(Request(operation, dict(path_params), members, Expected("success")))


def _cleanup(transport, labels: Callable[..., dict], setup_operation: str, names: list[str]) -> list[dict]:
    return [step(transport, "cleanup", "DeleteUser", labels(setup_operation, UserName=name), None,
                 f"delete {name!r}, which the steps above registered or may have registered (404 if not)")
            for name in dict.fromkeys(names)]


def request_steps(spec: Spec, preparation, transport, labels: Callable[..., dict], request: Request,
                  response) -> list[dict]:
    """The steps of a deviation found on one request: the target set up as the request assumes (its user there,
    registered as the run registers it; a name it registers is absent on a fresh target), the request, cleanup."""
    steps, made = [], []
    assumes = preparation.assumes(request)
    if assumes is not None and assumes[0] == "present":
        name = assumes[1]
        setup = spec[request.operation].setup
        assert setup is not None, "a request assumes its user present only when its operation has a setup"
        body = dict(setup.body, **{setup.member: name})
        registration = Request(setup.operation, labels(setup.operation), body, Expected("success"))
        steps.append(step(transport, "setup", setup.operation, registration.path_params, registration.body_bytes(),
                          f"register {name!r}, the user the {request.operation} request names"))
        made.append(name)
    steps.append(step(transport, "judged", request.operation, request.path_params, request.body_bytes(),
                      f"the {request.operation} request judged", response))
    made.append(_registered(request.operation, spec.setup_operation, request.path_params, request.body_bytes(),
                            response))
    return steps + _cleanup(transport, labels, spec.setup_operation, [n for n in made if isinstance(n, str)])


def trail_steps(spec: Spec, transport, labels: Callable[..., dict], trail: list) -> list[dict]:
    """The steps of a deviation a program found: what it sent, as sent (transport.Sent), the last one judged."""
    steps, made = [], []
    for index, sent in enumerate(trail):
        last = index == len(trail) - 1
        name = sent.path_params.get("UserName")
        registered = _registered(sent.operation, spec.setup_operation, sent.path_params, sent.body, sent.response)
        who = registered or name
        why = "the answer judged" if last else f"{sent.operation}" + (f" {who!r}" if who else "")
        steps.append(step(transport, "judged" if last else "step", sent.operation, sent.path_params, sent.body,
                          why, sent.response))
        made.append(registered)
    return steps + _cleanup(transport, labels, spec.setup_operation, [n for n in made if isinstance(n, str)])


# -- replaying -----------------------------------------------------------------------------------------------

@dataclass
class Replayed:
    """What a replay got: each step's answer, and the rule's verdict on the judged one."""

    rule: Rule
    answers: list[tuple[dict, Any]] = field(default_factory=list)  # (step, response)
    deviation: Deviation | None = None
    judged: bool = False  # the judged step's answer was in the rule's scope

    @property
    def reproduced(self) -> bool:
        return self.deviation is not None


def expected_of(described: Mapping) -> Expected:
    """The Expected of a request as the evidence describes it (Request.describe)."""
    return Expected(described.get("kind", "success"), described.get("rule_id"), tuple(described.get("co_broken") or ()),
                    tuple(tuple(a) for a in described.get("answers") or ()), described.get("operator") or "",
                    described.get("level") or "MUST", described.get("answers_level") or "MUST")


def request_of(described: Mapping) -> Request:
    """The judged request, as the evidence describes it (its bytes come from the judged step)."""
    raw = described.get("raw_body")
    return Request(described["operation"], dict(described.get("path_params") or {}), described.get("body"),
                   expected_of(described.get("expected") or {}),
                   raw_body=raw.encode("utf-8") if isinstance(raw, str) else None)


def verdict_on(spec: Spec, rule: Rule, request: Request, response, region: str) -> tuple[bool, Deviation | None]:
    """(whether the answer is in the rule's scope, the deviation or None): the rule's own check, as a run judges."""
    op = spec[rule.operation]
    if isinstance(rule, LifecycleRule):
        from qsconform.conformance.engine.lifecycle import verdict

        _, found = verdict(spec, rule.id, request, response, region)
    else:
        assert isinstance(rule, (InputRule, ResponseRule)), "the kinds of rule"
        exchange = Exchange(op, request, response, region)
        if isinstance(rule, ResponseRule) and not applies(rule, exchange):
            return False, None
        found = run_check(rule, exchange)
    if isinstance(found, str):
        return True, Deviation(found)
    if found is None or isinstance(found, Deviation):
        return True, found
    return False, None  # NOT_APPLICABLE: the answer says nothing about the rule


def replay(spec: Spec, rule_entry: Mapping, transport, region: str,
           told: Callable[[dict, Any], None] = lambda step, response: None) -> Replayed:
    """Send a rule's steps in order (the cleanup whatever happens before it), `told` each answer, and judge the
    judged step's answer with the rule's check."""
    rule = spec.rule(rule_entry["id"])
    steps = steps_of(rule_entry)
    request = request_of((rule_entry.get("example") or {}).get("request") or {})
    out = Replayed(rule)
    try:
        for item in (s for s in steps if s.get("role") != "cleanup"):
            response = _send(transport, item)
            out.answers.append((item, response))
            told(item, response)
            if item.get("role") == "judged":
                out.judged, out.deviation = verdict_on(spec, rule, request, response, region)
    finally:
        for item in (s for s in steps if s.get("role") == "cleanup"):
            response = _send(transport, item)
            out.answers.append((item, response))
            told(item, response)
    return out


def _send(transport, item: Mapping):
    if item["operation"] in transport.spec.operations:
        request = Request(item["operation"], dict(item.get("path_params") or {}), None, Expected("success"),
                          raw_body=body_of(item) or b"")
        return transport.send(request)
    return transport.call(item["operation"], dict(item.get("path_params") or {}))
