"""The check registry: each check is a small named function over one exchange.

A spec rule names its check (`"check": "echo"`) and may give it parameters.
A check returns None when the exchange keeps the rule, NOT_APPLICABLE when
the exchange says nothing about it (an echo check on a request that sent
nothing to echo), and a `Deviation` (or just its message) when it breaks it.
A deviation may be weaker than its rule: refusing an invalid request is what a
page states, the exact error type only what an inference expects; such a part
carries its own level, and the verdict is the weaker of the two. Checks never
raise for a bad answer, only for a bug. Input rules (member, cross-field,
protocol) all use `error_answer`: the request is invalid, so it must be
refused with one of its acceptable answers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

import jsonschema

from qsconform.spec.model import LEVELS, MISSING, ErrorType, InputRule, OperationSpec, ResponseRule, dig
from qsconform.spec.request import Request


@dataclass(frozen=True)
class Deviation:
    """Why an exchange breaks a rule; `level` when the part broken is backed less than the rule (None: as the rule)."""

    message: str
    level: str | None = None


class _NotApplicable:
    def __repr__(self) -> str:
        return "NOT_APPLICABLE"


NOT_APPLICABLE = _NotApplicable()  # the exchange says nothing about the rule: not counted as an example


@dataclass(frozen=True)
class Exchange:
    """One request, the answer it got, and the facts of the target a check compares with."""

    op: OperationSpec
    request: Request
    response: Any  # qsconform.conformance.wire.protocol.Answer
    region: str

    @property
    def body(self) -> Any:
        return self.response.json_body if self.response.is_json else None


Check = Callable[[Exchange, dict], "Deviation | str | _NotApplicable | None"]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


def run_check(rule: InputRule | ResponseRule, exchange: Exchange) -> "Deviation | _NotApplicable | None":
    """Evaluate one rule against one exchange: None when kept, NOT_APPLICABLE, or the Deviation."""
    if isinstance(rule, ResponseRule):
        found = CHECKS[rule.check](exchange, dict(rule.params))
    else:
        found = error_answer(exchange, {})
    return Deviation(found) if isinstance(found, str) else found


def strongest(deviations: list[Deviation]) -> Deviation | None:
    """Several broken parts as one deviation, as strong as the strongest of them."""
    if not deviations:
        return None
    levels = [d.level or LEVELS[0] for d in deviations]
    return Deviation("; ".join(d.message for d in deviations), min(levels, key=LEVELS.index))


def applies(rule: ResponseRule, exchange: Exchange) -> bool:
    """Whether a response rule speaks about this exchange (its scope: ResponseRule.judges)."""
    return rule.judges(valid=exchange.request.expected.is_success, accepted=200 <= exchange.response.status < 300)


def _describe_answer(response) -> str:
    return f"{response.status} {response.error_type or '(no error type)'}"


# -- answers to valid requests ------------------------------------------------------

@check("success_status")
def success_status(ex: Exchange, params: dict) -> Deviation | None:
    """A valid request succeeds with one of `statuses`. With `statuses_level`, only a status that is no success
    breaks the rule itself; another 2xx breaks the part saying which (as strong as `statuses_level`)."""
    if ex.response.status in params["statuses"]:
        return None
    message = f"status {_describe_answer(ex.response)}, expected one of {params['statuses']}"
    if "statuses_level" in params and 200 <= ex.response.status < 300:
        return Deviation(message, params["statuses_level"])
    return Deviation(message)


@check("content_type")
def content_type(ex: Exchange, params: dict) -> str | None:
    expected = ex.op.protocol.response_content_type
    if ex.response.content_type != expected:
        return f"Content-Type {ex.response.headers.get('Content-Type')!r}, expected {expected}"
    return None


@lru_cache(maxsize=None)
def response_schema(op: OperationSpec) -> dict:
    return op.success_body_schema()  # built once per operation: every success answer is checked against it


@check("required_members")
def required_members(ex: Exchange, params: dict) -> str | None:
    if not isinstance(ex.body, dict):
        return "body is not a JSON object"
    missing = [n for n, m in ex.op.response_members.items() if m.get("required") and n not in ex.body]
    user = ex.body.get("User")
    if isinstance(user, dict):
        missing += [f"User.{n}" for n in ex.op.user_required if n not in user]
    return f"missing {', '.join(missing)}" if missing else None


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
    rid = dig(ex.body, "RequestId")
    if not isinstance(rid, str) or not rid:
        return "no RequestId in the body"
    return None


@check("request_id_header")
def request_id_header(ex: Exchange, params: dict) -> str | None:
    header = ex.op.protocol.request_id_header
    if not ex.response.headers.get(header):
        return f"no {header} header"
    return None


@check("no_server_error")
def no_server_error(ex: Exchange, params: dict) -> str | None:
    if ex.response.status >= 500:
        return f"server error {_describe_answer(ex.response)}"
    return None


def _condition_holds(cond: Mapping, request: Request) -> bool:
    """Whether the request's members meet `cond` ({member: {"in": [...]}}, as the spec's echo entries write it)."""
    params = request.params()
    for name, c in cond.items():
        if "in" in c and params.get(name) not in c["in"]:
            return False
    return True


@check("echo")
def echo(ex: Exchange, params: dict):
    """Each member the spec's response/echo names comes back as sent (or, `absent`, is cleared),
    each judged at its own level, or at the rule's for the response members named in `at_rule_level`."""
    sent = ex.request.params()
    wrong, judged = [], False
    own = frozenset(params.get("at_rule_level", ()))
    for e in ex.op.echoes:
        if e.request not in sent or not _condition_holds(e.when, ex.request):
            continue
        judged = True
        got = dig(ex.body, e.response)
        level = None if e.response in own and not e.absent else e.level
        if e.absent:
            if got is not MISSING and got is not None:
                wrong.append(Deviation(f"{e.response} is {got!r} after {e.request}={sent[e.request]!r}, "
                                       f"which clears it", level))
        elif got is MISSING or got != sent[e.request]:
            shown = "missing" if got is MISSING else repr(got)
            wrong.append(Deviation(f"{e.response} is {shown}, sent {e.request}={sent[e.request]!r}", level))
    return strongest(wrong) if judged else NOT_APPLICABLE


def expected_user_name(ex: Exchange) -> str | None:
    return user_name_of(ex.request)


@check("iam_user_name")
def iam_user_name(ex: Exchange, params: dict):
    """An IAM identity is named after its ARN: the IAM user name, or <RoleName>/<SessionName> (observed #1, #2)."""
    if ex.request.params().get("IdentityType") != "IAM":
        return NOT_APPLICABLE
    expected = expected_user_name(ex)
    got = dig(ex.body, "User.UserName")
    if expected is None:
        return NOT_APPLICABLE
    if got != expected:
        return f"User.UserName is {'missing' if got is MISSING else repr(got)}, expected {expected!r}"
    return None


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
    arn = dig(ex.body, "User.Arn")
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
def invitation_url(ex: Exchange, params: dict) -> Deviation | None:
    """Returned only for QUICKSIGHT identities (the page: MUST); there for each of them (observed #3:
    OBSERVED); an https URL (an inference: SHOULD)."""
    url = dig(ex.body, "UserInvitationUrl")
    identity = ex.request.params().get("IdentityType")
    if identity in params["identity_types"]:
        if url is MISSING:
            return Deviation(f"no UserInvitationUrl for an identity of type {identity}", "OBSERVED")
        if not isinstance(url, str) or not re.match(r"^https://[^\s/]+\.[^\s/]+", url):
            return Deviation(f"UserInvitationUrl {url!r} is not an https URL", "SHOULD")
    elif url is not MISSING and url is not None:
        return Deviation(f"UserInvitationUrl {url!r} given for an identity of type {identity}")
    return None


@check("member_equals")
def member_equals(ex: Exchange, params: dict):
    """A member of the answer holds a value, for requests that meet `when` (if given); a missing member breaks
    the part `missing_level` grades (if given: the model may not require it), another value the rule."""
    if "when" in params and not _condition_holds(params["when"], ex.request):
        return NOT_APPLICABLE
    got = dig(ex.body, params["path"])
    if got is MISSING:
        return Deviation(f"{params['path']} is missing, expected {params['value']!r}", params.get("missing_level"))
    if got != params["value"]:
        return Deviation(f"{params['path']} is {got!r}, expected {params['value']!r}")
    return None


# -- answers to invalid requests ------------------------------------------------------

def error_answer(ex: Exchange, params: dict) -> Deviation | None:
    """The request breaks a rule: it must be refused (as strongly as the rule), with one of its acceptable
    answers (as strongly as the sources back those answers: `Expected.answers_level`)."""
    expected = ex.request.expected
    got = (ex.response.status, ex.response.error_type or "")
    accepted = ", ".join(_answer_shown(s, t, expected.answer_members) for s, t in expected.answers)
    if any(got[0] == s and (not t or got[1] == t) for s, t in expected.answers):
        body = ex.body if isinstance(ex.body, dict) else {}
        lacking = [f"{m} {v}" for t, m, v in expected.answer_members if t == got[1] and body.get(m) != v]
        if not lacking:
            return None
        return Deviation(f"answered {_describe_answer(ex.response)} without {', '.join(lacking)}; expected one of: "
                         f"{accepted}", expected.answers_level)
    if expected.answers and all(200 <= s < 300 for s, _ in expected.answers):  # a recording saw the real API accept such requests
        return Deviation(f"answered {_describe_answer(ex.response)}; the real API was recorded accepting it "
                         f"({accepted})", expected.answers_level if got[0] < 500 else None)
    if 200 <= got[0] < 300:
        return Deviation(f"accepted with {got[0]}; expected a refusal: {accepted}")
    message = f"answered {_describe_answer(ex.response)}; expected one of: {accepted}"
    return Deviation(message, expected.answers_level if 400 <= got[0] < 500 else None)


def _answer_shown(status: int, error_type: str, members) -> str:
    carried = ", ".join(f"{m} {v}" for t, m, v in members if t == error_type and error_type)
    return f"{status} {error_type}".strip() + (f" ({carried})" if carried else "")


@check("error_body")
def error_body(ex: Exchange, params: dict) -> Deviation | None:
    """restJson1 errors are JSON objects (MUST); they carry Message (observed #14: OBSERVED)."""
    if not ex.response.is_json or not isinstance(ex.body, dict):
        return Deviation(f"error body is not a JSON object (Content-Type {ex.response.headers.get('Content-Type')!r})")
    message = ex.body.get("Message", ex.body.get("message"))
    if not isinstance(message, str):
        return Deviation("error body has no Message", "OBSERVED")
    return None


def _catalog_entry(ex: Exchange) -> ErrorType | None:
    return ex.op.error_type(ex.response.error_type)


@check("error_status")
def error_status(ex: Exchange, params: dict):
    """An error type comes with the status the model (or, for common errors, AWS) gives it."""
    entry = _catalog_entry(ex)
    if entry is None:
        return NOT_APPLICABLE
    if ex.response.status not in entry.status:
        return Deviation(f"{ex.response.error_type} answered with {ex.response.status}, "
                         f"expected {' or '.join(map(str, entry.status))}", entry.level)
    return None


@check("declared_error")
def declared_error(ex: Exchange, params: dict):
    """An operation answers the errors it declares, or errors common to all actions: not another
    operation's error (UpdateUser never answers ResourceExistsException)."""
    entry = _catalog_entry(ex)
    if entry is None:
        return NOT_APPLICABLE
    if entry.modelled and entry.name not in ex.op.declared_errors:
        return f"{entry.name} is not an error of {ex.op.name} (the model declares {', '.join(ex.op.declared_errors)})"
    return None


@check("error_members")
def error_members(ex: Exchange, params: dict):
    """Errors that name a resource carry the member saying which kind (observed #14: ResourceType)."""
    entry = _catalog_entry(ex)
    member = params["member"]
    if entry is None or member not in entry.members:
        return NOT_APPLICABLE
    if not isinstance(ex.body, dict) or not isinstance(ex.body.get(member), str):
        return f"{ex.response.error_type} without {member}"
    return None
