"""The check registry: each check is a small named function over one exchange.

A spec rule names its check (`"check": "echo"`) and may give it parameters;
a check returns None when the exchange keeps the rule and a one-line reason
when it breaks it. Checks never raise for a bad answer, only for a bug.
Input rules (member, cross-field, protocol) all use `error_answer`: the
request is invalid, so it must be refused with one of its acceptable answers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import jsonschema

from conformance.oracle import JSON_TYPES
from conformance.spec import OperationSpec, Rule
from strategies.request import Request


@dataclass(frozen=True)
class Exchange:
    """One request, the answer it got, and the facts of the target a check compares with."""

    op: OperationSpec
    request: Request
    response: Any  # conformance.protocol.Response
    region: str

    @property
    def body(self) -> Any:
        return self.response.json_body if self.response.is_json else None


Check = Callable[[Exchange, dict], "str | None"]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


def run_check(rule: Rule, exchange: Exchange) -> str | None:
    """Evaluate one rule against one exchange; None when kept."""
    if rule.kind in ("member", "cross", "protocol"):
        return error_answer(exchange, {})
    return CHECKS[rule.data["check"]](exchange, rule.data.get("params", {}))


def applies(rule: Rule, exchange: Exchange) -> bool:
    """Whether a response rule speaks about this exchange (see applies_to in spec/meta-schema.json)."""
    valid = exchange.request.expected.is_success
    accepted = 200 <= exchange.response.status < 300
    return {"any": True, "valid": valid, "success": valid and accepted,
            "error": not valid and not accepted}[rule.data.get("applies_to", "any")]


def _dig(value: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


_MISSING = object()


def _describe_answer(response) -> str:
    return f"{response.status} {response.error_type or '(no error type)'}"


# -- answers to valid requests ------------------------------------------------------

@check("success_status")
def success_status(ex: Exchange, params: dict) -> str | None:
    if ex.response.status not in params["statuses"]:
        return f"status {_describe_answer(ex.response)}, expected one of {params['statuses']}"
    return None


@check("content_type")
def content_type(ex: Exchange, params: dict) -> str | None:
    expected = ex.op.common["protocol"]["response_content_type"]
    if ex.response.content_type != expected:
        return f"Content-Type {ex.response.headers.get('Content-Type')!r}, expected {expected}"
    return None


@lru_cache(maxsize=None)
def response_schema(op: OperationSpec) -> dict:
    """The success body's JSON Schema from the spec: member types, required members, unknown members allowed.

    Enum values are not enforced: AWS adds values (new roles) that SDKs must tolerate; the echo
    check compares the values that matter.
    """
    shapes = op.shapes

    def of(shape_name: str) -> dict:
        shape = shapes[shape_name]
        if shape["type"] == "structure":
            return {"type": "object", "properties": {n: of(m["shape"]) for n, m in shape["members"].items()}}
        if shape["type"] == "list":
            return {"type": "array", "items": of(shape["member"])}
        return {"type": JSON_TYPES[shape["type"]]}

    response = op.raw["response"]
    props = {}
    for name, m in response["members"].items():
        # Status is bound to the status line; a body that carries it too is tolerated.
        props[name] = of(m["shape"])
    required = [n for n, m in response["members"].items() if m.get("required")]
    if "User" in props and response.get("user_required"):
        props["User"]["required"] = list(response["user_required"])
    return {"type": "object", "properties": props, "required": required}


@check("response_schema")
def response_schema_check(ex: Exchange, params: dict) -> str | None:
    if not ex.response.is_json:
        return "body is not JSON"
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(response_schema(ex.op)).iter_errors(ex.body))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "body"
        return f"{where}: {error.message}"
    return None


@check("request_id_body")
def request_id_body(ex: Exchange, params: dict) -> str | None:
    rid = _dig(ex.body, "RequestId")
    if not isinstance(rid, str) or not rid:
        return "no RequestId in the body"
    return None


@check("request_id_header")
def request_id_header(ex: Exchange, params: dict) -> str | None:
    header = ex.op.common["protocol"]["request_id_header"]
    if not ex.response.headers.get(header):
        return f"no {header} header"
    return None


@check("no_server_error")
def no_server_error(ex: Exchange, params: dict) -> str | None:
    if ex.response.status >= 500:
        return f"server error {_describe_answer(ex.response)}"
    return None


def _condition_holds(cond: dict, request: Request) -> bool:
    params = request.params()
    for name, c in cond.items():
        if "in" in c and params.get(name) not in c["in"]:
            return False
    return True


@check("echo")
def echo(ex: Exchange, params: dict) -> str | None:
    sent = ex.request.params()
    wrong = []
    for e in ex.op.raw["response"]["echo"]:
        if e["request"] not in sent or not _condition_holds(e.get("when", {}), ex.request):
            continue
        got = _dig(ex.body, e["response"])
        if got is _MISSING or got != sent[e["request"]]:
            shown = "missing" if got is _MISSING else repr(got)
            wrong.append(f"{e['response']} is {shown}, sent {e['request']}={sent[e['request']]!r}")
    return "; ".join(wrong) or None


def expected_user_name(ex: Exchange) -> str | None:
    return user_name_of(ex.request)


def user_name_of(request: Request) -> str | None:
    """The name a request's user has: the UserName sent (QuickSight users, UpdateUser's label), or for an
    IAM identity the name in its ARN, with "/<SessionName>" for a role session (observed #1, #2)."""
    sent = request.params()
    if "UserName" in sent and sent.get("IdentityType", "QUICKSIGHT") == "QUICKSIGHT":
        return sent["UserName"]
    arn = sent.get("IamArn")
    match = re.match(r"^arn:[^:]+:iam::\d{12}:(user|role)/(?:.*/)?([^/]+)$", arn) if isinstance(arn, str) else None
    if match is None:
        return None
    kind, name = match.groups()
    return f"{name}/{sent['SessionName']}" if kind == "role" and "SessionName" in sent else name


@check("arn_format")
def arn_format(ex: Exchange, params: dict) -> str | None:
    arn = _dig(ex.body, "User.Arn")
    if not isinstance(arn, str):
        return "no User.Arn"
    sent = ex.request.params()
    name = expected_user_name(ex)
    if name is None:
        return "the request names no user to compare the Arn with"
    fields = {"partition": "aws[a-z-]*", "region": re.escape(ex.region), "account": re.escape(sent["AwsAccountId"]),
              "namespace": re.escape(sent["Namespace"]), "user_name": re.escape(name)}
    pattern = re.escape(params["template"])
    for key, value in fields.items():
        pattern = pattern.replace(re.escape("{" + key + "}"), value)
    if not re.fullmatch(pattern, arn):
        expected = params["template"].format(partition="aws", region=ex.region, account=sent["AwsAccountId"],
                                             namespace=sent["Namespace"], user_name=name)
        return f"User.Arn is {arn!r}, expected {expected!r}"
    return None


@check("invitation_url")
def invitation_url(ex: Exchange, params: dict) -> str | None:
    url = _dig(ex.body, "UserInvitationUrl")
    identity = ex.request.params().get("IdentityType")
    if identity in params["identity_types"]:
        if url is _MISSING:
            return f"no UserInvitationUrl for an identity of type {identity}"
        if not isinstance(url, str) or not re.match(r"^https://[^\s/]+\.[^\s/]+", url):
            return f"UserInvitationUrl {url!r} is not an https URL"
    elif url is not _MISSING and url is not None:
        return f"UserInvitationUrl {url!r} given for an identity of type {identity}"
    return None


@check("member_equals")
def member_equals(ex: Exchange, params: dict) -> str | None:
    got = _dig(ex.body, params["path"])
    if got is _MISSING or got != params["value"]:
        return f"{params['path']} is {'missing' if got is _MISSING else repr(got)}, expected {params['value']!r}"
    return None


# -- answers to invalid requests ------------------------------------------------------

def error_answer(ex: Exchange, params: dict) -> str | None:
    """The request breaks a rule: it must be refused with one of its acceptable answers."""
    answers = ex.request.expected.answers
    got = (ex.response.status, ex.response.error_type or "")
    if any(got[0] == s and (not t or got[1] == t) for s, t in answers):
        return None
    accepted = ", ".join(f"{s} {t}" for s, t in answers)
    if 200 <= got[0] < 300:
        return f"accepted with {got[0]}; expected a refusal: {accepted}"
    return f"answered {_describe_answer(ex.response)}; expected one of: {accepted}"


@check("error_body")
def error_body(ex: Exchange, params: dict) -> str | None:
    if not ex.response.is_json or not isinstance(ex.body, dict):
        return f"error body is not a JSON object (Content-Type {ex.response.headers.get('Content-Type')!r})"
    message = ex.body.get("Message", ex.body.get("message"))
    if not isinstance(message, str):
        return "error body has no Message"
    return None
