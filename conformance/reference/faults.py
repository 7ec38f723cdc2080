"""Named deviations of the reference server: each one breaks rules the suite must then report as failed.

A fault acts at exactly one hook of the server, in the order a request meets them:

  route     the path's segments (act(segments, call) -> segments)
  parse     the raw body, before it is read as JSON (act(raw, call) -> raw)
  validate  checks switched off by id (`skips`), or an extra refusal (act(params, call))
  store     the user store a request sees (act(store, call) -> a store view)
  respond   a success reply (act(reply, call) -> reply)
  error     an error reply (act(reply, call) -> reply; call.error is the refusal)

`breaks` names the spec rule ids (load_spec().rules) the fault breaks: the suite
must report each MUST or OBSERVED one failed and each SHOULD one advisory (a
fault may break only SHOULD rules, and then fails no run). `advises` names the
MUST or OBSERVED rules it breaks only in a part weaker than the rule (an echoed
member whose echo is SHOULD; a wrong 4xx answer to a rule whose error type is
only inferred, rulegroups.py; a 2xx other than the one expected): the suite must
report them advisory. A fault names at least one rule in one or the other.
Fault.expected gives the status of each. To add a fault: write its act (or
its skips) and add one Fault to FAULTS; the tests then ask for a probe showing
the deviation (tests/test_reference_faults.py).
An act that raises an unexpected exception makes the server answer 500, as a
crash would.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from qsconform.conformance.reference.identities import is_role_session
from qsconform.conformance.reference.replies import (ERROR_TYPE_HEADER, REQUEST_ID_HEADER, ApiError, Reply, error_reply,
                                                     set_headers)
from qsconform.conformance.reference.rulegroups import INFERRED, INVALID, UNDESERIALISABLE, UNSETTLED
from qsconform.conformance.reference.store import UserNotFound

HOOKS = ("route", "parse", "validate", "store", "respond", "error")


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    breaks: tuple[str, ...]
    hook: str
    act: Callable[[Any, Any], Any] | None = None
    skips: tuple[str, ...] = ()  # validate hook: ids of the server's own checks switched off
    # Rules the fault breaks only in a part an inference backs (an echoed member whose echo is SHOULD, a refusal
    # whose error type is inferred): the suite reports them advisory though the rule is MUST or OBSERVED.
    advises: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.hook not in HOOKS:
            raise ValueError(f"fault {self.name}: unknown hook {self.hook!r}")
        if set(self.advises) & set(self.breaks):
            raise ValueError(f"fault {self.name}: a rule is in breaks or in advises, not both")
        if not self.breaks and not self.advises:
            raise ValueError(f"fault {self.name}: names no rule it breaks (breaks or advises)")
        if self.act is None and not (self.hook == "validate" and self.skips):
            raise ValueError(f"fault {self.name}: needs an act (or skips, at the validate hook)")


    def expected(self, levels: Mapping[str, str]) -> dict[str, str]:
        """The status the suite must report for each rule the fault breaks, given the rules' levels (rule id ->
        MUST, OBSERVED or SHOULD): a rule of `breaks` failed, or advisory when it is SHOULD; one of `advises`
        advisory."""
        out = {rule: "advisory" if levels[rule] == "SHOULD" else "failed" for rule in self.breaks}
        return out | dict.fromkeys(self.advises, "advisory")


class ActiveFaults:
    """The faults switched on for one server, applied hook by hook."""

    def __init__(self, names: tuple[str, ...] | list[str] = ()):
        from qsconform.conformance.reference.variants import unknown_names

        unknown = unknown_names("fault", names, FAULTS, "--list-faults")
        if unknown:
            raise ValueError(unknown)
        self.faults = tuple(FAULTS[n] for n in dict.fromkeys(names))
        self.skips = frozenset(s for f in self.faults for s in f.skips)

    def apply(self, hook: str, value: Any, call: Any) -> Any:
        for fault in self.faults:
            if fault.hook == hook and fault.act is not None:
                value = fault.act(value, call)
        return value


# -- route and parse ----------------------------------------------------------------------------

def _decode_then_split(segments: list[str], call) -> list[str]:
    return unquote(call.raw_path).split("/")[1:]


def _unguarded_json(raw: bytes, call) -> bytes:
    if raw:
        json.loads(raw)  # no handler: a body that is not JSON crashes the request
    return raw


def _members_read_blindly(raw: bytes, call) -> bytes:
    try:
        document = json.loads(raw) if raw else {}
    except ValueError:
        return raw  # not JSON at all: left to the faithful parser
    document.keys()  # assumes an object: a JSON array or string crashes the request
    return raw


# -- validate -----------------------------------------------------------------------------------

def _refuse_spaces(params: dict, call) -> dict:
    if call.operation == "RegisterUser" and " " in str(params.get("UserName", "")):
        raise ApiError(call.variant.constraint_error, "UserName must not contain spaces.")
    return params


# -- store ----------------------------------------------------------------------------------------

class _StoreView:
    def __init__(self, base):
        self.base = base

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


class _Overwriting(_StoreView):
    def add(self, user):
        return self.base.replace(user)


class _Forgetful(_StoreView):
    def replace(self, user):
        return user  # answered as if kept


class _AsciiKeyed(_StoreView):
    """Keys its users by their ASCII name, so a Latin-1 name raises UnicodeEncodeError (a 500)."""

    def add(self, user):
        user.user_name.encode("ascii")
        return self.base.add(user)

    def get(self, account, namespace, name):
        name.encode("ascii")
        return self.base.get(account, namespace, name)


class _Latin1Keyed(_StoreView):
    """Looks users up by their Latin-1 name, so a name beyond Latin-1 raises UnicodeEncodeError (a 500)."""

    def get(self, account, namespace, name):
        name.encode("latin-1")
        return self.base.get(account, namespace, name)


class _EveryNamespace(_StoreView):
    def namespace_exists(self, account, namespace) -> bool:
        return True


class _AccountBlind(_StoreView):
    """Finds a user in whichever account holds one of that name, whatever account a request names."""

    def get(self, account, namespace, name):
        for held in [account] + [a for a in self.base.accounts() if a != account]:
            try:
                return self.base.get(held, namespace, name)
            except UserNotFound:
                pass
        raise UserNotFound(name)


class _NamespaceBlind(_StoreView):
    """Keeps every user in the namespace default, whatever namespace a request names: every one exists."""

    def namespace_exists(self, account, namespace) -> bool:
        return True

    def add(self, user):
        return self.base.add(user.changed(namespace="default"))

    def replace(self, user):
        return self.base.replace(user.changed(namespace="default"))

    def get(self, account, namespace, name):
        return self.base.get(account, "default", name)

    def delete(self, account, namespace, name):
        return self.base.delete(account, "default", name)


    def list(self, account, namespace):
        return self.base.list(account, "default")


class _Trimming(_StoreView):
    """Keeps a user's `field` (user_name, email) with the spaces at its ends cut off (a user name's Arn too), and
    finds a user by its name so cut."""

    def __init__(self, base, field: str):
        super().__init__(base)
        self.field = field

    def _trimmed(self, user):
        value = getattr(user, self.field)
        if not isinstance(value, str) or value.strip() == value:
            return user
        changes = {self.field: value.strip()}
        if self.field == "user_name":
            changes["arn"] = user.arn[:-len(value)] + value.strip()
        return user.changed(**changes)

    def add(self, user):
        return self.base.add(self._trimmed(user))

    def replace(self, user):
        return self.base.replace(self._trimmed(user))

    def _name(self, name):
        return name.strip() if self.field == "user_name" else name

    def get(self, account, namespace, name):
        return self.base.get(account, namespace, self._name(name))

    def delete(self, account, namespace, name):
        return self.base.delete(account, namespace, self._name(name))


class _Keeping(_StoreView):
    """Keeps an updated user's `field` (email, role) as it was: UpdateUser answers, and DescribeUser shows, the old."""

    def __init__(self, base, field: str):
        super().__init__(base)
        self.field = field

    def replace(self, user):
        before = self.base.get(user.account, user.namespace, user.user_name)
        return self.base.replace(user.changed(**{self.field: getattr(before, self.field)}))


class _SessionNamed(_StoreView):
    """Keeps a role session under its session name alone (not <RoleName>/<SessionName>), its Arn too."""

    def add(self, user):
        if is_role_session(user.principal_id):
            session = user.principal_id.split(":", 1)[1]
            user = user.changed(user_name=session, arn=user.arn[:-len(user.user_name)] + session)
        return self.base.add(user)


class _Rewriting(_StoreView):
    """Keeps an updated user changed by `edit(user, body)`: what UpdateUser answers and DescribeUser shows."""

    def __init__(self, base, call, edit):
        super().__init__(base)
        self.call, self.edit = call, edit

    def replace(self, user):
        return self.base.replace(self.edit(user, self.call.body))


def _none_kept(user, body: dict):
    if body.get("ExternalLoginFederationProviderType") == "NONE":
        return user.changed(external_login_type="NONE")  # stored literally, shown in the User
    return user


def _empty_profile(user, body: dict):
    if body.get("UnapplyCustomPermissions") is True:
        return user.changed(custom_permissions_name="")  # "removed" by writing an empty name
    return user


# -- respond --------------------------------------------------------------------------------------

def _for(operations: tuple[str, ...], edit: Callable[[Reply, Any], Reply]) -> Callable[[Reply, Any], Reply]:
    """An act that edits the replies of some operations only."""
    return lambda reply, call: edit(reply, call) if call.operation in operations else reply


_DROP = object()  # a change that removes the member
_BOTH = ("RegisterUser", "UpdateUser")


def _edit_body(reply: Reply, **changes: Any) -> Reply:
    if not isinstance(reply.body, dict):  # already not JSON (another fault)
        return reply
    body = {k: v for k, v in {**reply.body, **changes}.items() if v is not _DROP}
    return reply.with_body(body)


def _success_body(reply: Reply) -> dict:
    assert isinstance(reply.body, dict), "a success reply's body is JSON (success_reply), and respond faults keep it so"
    return reply.body


def _edit_user(reply: Reply, **changes: Any) -> Reply:
    user = _success_body(reply).get("User")
    if not isinstance(user, dict):
        return reply
    return _edit_body(reply, User={k: v for k, v in {**user, **changes}.items() if v is not _DROP})


def _other_region(region: str) -> str:
    return "eu-west-1" if region != "eu-west-1" else "us-east-1"


def _arn_elsewhere(reply: Reply, call) -> Reply:
    arn = _success_body(reply).get("User", {}).get("Arn", "")
    return _edit_user(reply, Arn=arn.replace(f":{call.region}:", f":{_other_region(call.region)}:", 1))


def _arn_other_namespace(reply: Reply, call) -> Reply:
    arn = _success_body(reply).get("User", {}).get("Arn", "")
    return _edit_user(reply, Arn=arn.replace(f":user/{call.labels['Namespace']}/", ":user/main/", 1))


def _invite_iam(reply: Reply, call) -> Reply:
    if call.body.get("IdentityType") != "IAM":
        return reply
    return _edit_body(reply, UserInvitationUrl=f"https://{call.region}.quicksight.aws.amazon.com/sn/console/register")


def _other_role(reply: Reply, call) -> Reply:
    role = _success_body(reply).get("User", {}).get("Role")
    return _edit_user(reply, Role="AUTHOR" if role != "AUTHOR" else "READER")


def _lower_email(reply: Reply, call) -> Reply:
    email = _success_body(reply).get("User", {}).get("Email")
    return _edit_user(reply, Email=email.lower()) if isinstance(email, str) else reply


def _cognito_idp(reply: Reply, call) -> Reply:
    if _success_body(reply).get("User", {}).get("ExternalLoginFederationProviderType") != "COGNITO":
        return reply
    return _edit_user(reply, ExternalLoginFederationProviderUrl="cognito-idp.amazonaws.com")


_EXTERNAL_LOGIN_SHOWN = ("ExternalLoginFederationProviderType", "ExternalLoginFederationProviderUrl", "ExternalLoginId")


# -- error ------------------------------------------------------------------------------------------

def _not_found_400(reply: Reply, call) -> Reply:
    return replace(reply, status=400) if call.error.error_type == "ResourceNotFoundException" else reply


def _crash_on_refusal(reply: Reply, call) -> Reply:
    if not 400 <= reply.status < 500:
        return reply
    return error_reply(ApiError("InternalFailureException", call.error.message), call.request_id, call.variant,
                       call.catalog)


def _misnamed(reply: Reply, call) -> Reply:
    if call.error.error_type not in ("ValidationException", "InvalidParameterValueException"):
        return reply
    return error_reply(ApiError("InvalidParameterException", call.error.message, status=400),
                       call.request_id, call.variant, call.catalog)


def _status_422(reply: Reply, call) -> Reply:
    return replace(reply, status=422) if call.error.error_type == "InvalidParameterValueException" else reply


def _refusals_as_exists(reply: Reply, call) -> Reply:
    if call.operation != "UpdateUser" or reply.status != 400 or call.error.error_type not in (
            "InvalidParameterValueException", "ValidationException"):
        return reply
    return error_reply(ApiError("ResourceExistsException", call.error.message, resource_type="USER"),
                       call.request_id, call.variant, call.catalog)


def _without_resource_type(reply: Reply, call) -> Reply:
    if call.error.error_type not in ("ResourceNotFoundException", "ResourceExistsException"):
        return reply
    return _edit_body(reply, ResourceType=_DROP)


def _misspelt_header(reply: Reply, call) -> Reply:
    reply = set_headers(reply, {ERROR_TYPE_HEADER: None, "X-Amzn-Error-Type": call.error.error_type})
    return _edit_body(reply, __type=_DROP) if isinstance(reply.body, dict) else reply


def _plain_text(reply: Reply, call) -> Reply:
    reply = set_headers(reply, {"Content-Type": "text/plain; charset=utf-8"})
    return reply.with_body(f"{call.error.error_type}: {call.error.message}".encode("utf-8"))


def _fault(name: str, hook: str, description: str, breaks: tuple[str, ...], act=None, skips=(),
           advises: tuple[str, ...] = ()) -> Fault:
    return Fault(name=name, description=description, breaks=tuple(breaks), hook=hook, act=act, skips=tuple(skips),
                 advises=tuple(advises))


def _both(*groups: dict) -> tuple[str, ...]:
    return tuple(rule for group in groups for op in _BOTH for rule in group[op])


_FAULTS = [
    # route
    _fault("slash-decoded-before-split", "route",
           "The path is percent-decoded before it is split, so a '/' in a user name (sent as %2F) makes "
           "an extra path segment and no operation matches (404 UnknownOperationException).",
           ("UpdateUser.response.success-status",), _decode_then_split),
    # parse
    _fault("malformed-json-500", "parse", "A body that is not JSON crashes the request: 500.",
           ("RegisterUser.protocol.body-not-json", "UpdateUser.protocol.body-not-json",
            "RegisterUser.response.no-server-error", "UpdateUser.response.no-server-error"), _unguarded_json),
    _fault("body-not-object-500", "parse", "A JSON body that is not an object crashes the request: 500.",
           ("RegisterUser.protocol.body-not-object", "UpdateUser.protocol.body-not-object",
            "RegisterUser.response.no-server-error", "UpdateUser.response.no-server-error"), _members_read_blindly),
    # validate: constraints
    _fault("register-role-enum-unchecked", "validate", "RegisterUser takes any UserRole.",
           ("RegisterUser.UserRole.enum",), skips=("RegisterUser.UserRole.enum",)),
    _fault("update-role-enum-unchecked", "validate", "UpdateUser takes any Role.",
           ("UpdateUser.Role.enum",), skips=("UpdateUser.Role.enum",)),
    _fault("register-account-pattern-unchecked", "validate",
           "RegisterUser takes any 12 characters as AwsAccountId.",
           ("RegisterUser.AwsAccountId.pattern",), skips=("RegisterUser.AwsAccountId.pattern",)),
    _fault("update-account-unchecked", "store",
           "UpdateUser neither validates the AwsAccountId nor looks the user up in it: the user is found whatever "
           "the path names (eleven digits, letters...).",
           ("UpdateUser.AwsAccountId.min_length", "UpdateUser.AwsAccountId.max_length", "UpdateUser.AwsAccountId.pattern"),
           lambda store, call: _AccountBlind(store) if call.operation == "UpdateUser" else store,
           skips=("UpdateUser.AwsAccountId.min_length", "UpdateUser.AwsAccountId.max_length",
                  "UpdateUser.AwsAccountId.pattern")),
    _fault("register-username-pattern-unchecked", "validate",
           "RegisterUser takes user names with characters beyond U+00FF.",
           ("RegisterUser.UserName.pattern",), skips=("RegisterUser.UserName.pattern",)),
    _fault("tags-max-items-unchecked", "validate", "RegisterUser takes more than 200 tags.",
           ("RegisterUser.Tags.max_items",), skips=("RegisterUser.Tags.max_items",)),
    _fault("tag-key-max-length-unchecked", "validate", "RegisterUser takes tag keys longer than 128.",
           ("RegisterUser.Tags[].Key.max_length",), skips=("RegisterUser.Tags[].Key.max_length",)),
    _fault("register-email-required-unchecked", "validate", "RegisterUser without Email is accepted.",
           ("RegisterUser.Email.required",), skips=("RegisterUser.Email.required",)),
    _fault("update-email-required-unchecked", "validate", "UpdateUser without Email is accepted.",
           ("UpdateUser.Email.required",), skips=("UpdateUser.Email.required",)),
    _fault("email-type-unchecked", "validate", "An Email of any JSON type (an object, an array) is accepted.",
           ("RegisterUser.Email.type", "UpdateUser.Email.type"),
           skips=("RegisterUser.Email.type", "UpdateUser.Email.type")),
    # validate: cross-field
    _fault("iam-without-iamarn-accepted", "validate", "An IAM identity without IamArn is registered.",
           ("RegisterUser.iam-requires-iamarn",), skips=("RegisterUser.iam-requires-iamarn",)),
    _fault("iam-with-username-accepted", "validate", "An IAM identity with a UserName is registered.",
           ("RegisterUser.iam-forbids-username",), skips=("RegisterUser.iam-forbids-username",)),
    # validate: a valid value refused
    _fault("space-in-username-refused", "validate",
           "RegisterUser refuses a UserName with a space (400), though the pattern allows it.",
           ("RegisterUser.response.success-status", "RegisterUser.response.status-observed"), _refuse_spaces),
    # store
    _fault("duplicate-accepted", "store", "Registering a name that exists overwrites the user (201).",
           ("RegisterUser.lifecycle.duplicate-refused",), lambda store, call: _Overwriting(store)),
    _fault("update-not-persisted", "store", "UpdateUser answers the new values but stores nothing.",
           ("UpdateUser.lifecycle.update-persists",), lambda store, call: _Forgetful(store)),
    _fault("update-keeps-old-email", "store", "UpdateUser keeps the Email the user had (and answers it).",
           ("UpdateUser.lifecycle.update-persists",), lambda store, call: _Keeping(store, "email")),
    _fault("update-keeps-old-role", "store", "UpdateUser keeps the Role the user had (and answers it).",
           ("UpdateUser.lifecycle.update-persists",), lambda store, call: _Keeping(store, "role")),
    _fault("username-trimmed", "store",
           "User names are kept, and looked up, with the spaces at their ends cut off: 'name ' is user 'name'.",
           ("RegisterUser.response.arn",), lambda store, call: _Trimming(store, "user_name"),
           advises=("RegisterUser.response.echo",)),
    _fault("email-trimmed", "store", "Emails are kept with the spaces at their ends cut off.",
           ("RegisterUser.response.echo", "UpdateUser.response.echo"), lambda store, call: _Trimming(store, "email")),
    _fault("namespace-ignored", "store",
           "The namespace a request names is neither validated nor looked up: every user is kept in default, so "
           "a request naming any namespace (an over-long one, one of other characters) succeeds.",
           ("RegisterUser.Namespace.max_length", "RegisterUser.Namespace.pattern", "UpdateUser.Namespace.max_length",
            "UpdateUser.Namespace.pattern", "RegisterUser.namespace-must-exist", "UpdateUser.namespace-must-exist"),
           lambda store, call: _NamespaceBlind(store),
           skips=("RegisterUser.Namespace.max_length", "RegisterUser.Namespace.pattern",
                  "UpdateUser.Namespace.max_length", "UpdateUser.Namespace.pattern")),
    _fault("latin1-username-500", "store", "A user name with a Latin-1 character (é, ÿ) crashes: 500.",
           ("RegisterUser.response.success-status", "RegisterUser.response.status-observed",
            "RegisterUser.response.no-server-error"), lambda store, call: _AsciiKeyed(store)),
    _fault("iamarn-unchecked", "validate",
           "IamArn is neither type-checked nor read as an ARN: an object registers a user named after its principal id.",
           ("RegisterUser.IamArn.type", "RegisterUser.iam-arn-format"),
           skips=("RegisterUser.IamArn.type", "RegisterUser.iam-arn-format")),
    _fault("update-username-unchecked-500", "store",
           "UpdateUser does not check the UserName label's pattern and crashes (500) looking up a name beyond Latin-1.",
           ("UpdateUser.UserName.pattern", "UpdateUser.response.no-server-error"),
           lambda store, call: _Latin1Keyed(store) if call.operation == "UpdateUser" else store,
           skips=("UpdateUser.UserName.pattern",)),
    _fault("namespace-not-checked", "store", "Every well-formed namespace exists: RegisterUser succeeds in it.",
           ("RegisterUser.namespace-must-exist",), lambda store, call: _EveryNamespace(store)),
    _fault("role-session-named-by-session", "store",
           "A role session is registered under its session name alone, not <RoleName>/<SessionName> (its Arn too).",
           ("RegisterUser.response.iam-user-name", "RegisterUser.response.arn", "RegisterUser.response.success-status",
            "RegisterUser.response.status-observed"), lambda store, call: _SessionNamed(store)),
    _fault("none-stored-as-provider-type", "store",
           "UpdateUser with ExternalLoginFederationProviderType NONE clears the login but keeps the type "
           "\"NONE\", shown in the User.",
           ("UpdateUser.response.echo",), lambda store, call: _Rewriting(store, call, _none_kept)),
    _fault("unapply-writes-empty-profile", "store",
           "UnapplyCustomPermissions sets CustomPermissionsName to an empty string instead of removing it.",
           ("UpdateUser.response.echo",), lambda store, call: _Rewriting(store, call, _empty_profile)),
    # respond
    _fault("cognito-url-wrong", "respond",
           "A user with a COGNITO login shows the provider URL cognito-idp.amazonaws.com, not cognito-identity.amazonaws.com.",
           ("RegisterUser.response.cognito-provider-url",), _for(_BOTH, _cognito_idp)),
    _fault("request-id-body-missing", "respond", "Success bodies carry no RequestId.",
           ("RegisterUser.response.request-id-body", "UpdateUser.response.request-id-body"),
           lambda reply, call: _edit_body(reply, RequestId=_DROP)),
    _fault("request-id-header-missing", "respond", "Success answers carry no x-amzn-RequestId header.",
           ("RegisterUser.response.request-id-header", "UpdateUser.response.request-id-header"),
           lambda reply, call: set_headers(reply, {REQUEST_ID_HEADER: None})),
    _fault("content-type-html", "respond", "Success answers say Content-Type: text/html.",
           ("RegisterUser.response.content-type", "UpdateUser.response.content-type"),
           lambda reply, call: set_headers(reply, {"Content-Type": "text/html; charset=utf-8"})),
    _fault("principal-id-missing", "respond", "The User in RegisterUser and UpdateUser answers has no PrincipalId.",
           ("RegisterUser.response.required-members", "UpdateUser.response.required-members"),
           _for(_BOTH, lambda reply, call: _edit_user(reply, PrincipalId=_DROP))),
    _fault("active-as-string", "respond", "User.Active is the string \"false\", not a JSON boolean.",
           ("RegisterUser.response.schema", "UpdateUser.response.schema", "RegisterUser.response.new-user-inactive"),
           _for(_BOTH, lambda reply, call: _edit_user(
               reply, Active=str(_success_body(reply)["User"]["Active"]).lower()))),
    _fault("external-login-not-echoed", "respond",
           "The User in RegisterUser and UpdateUser answers leaves out the external login members.",
           ("UpdateUser.response.echo",),
           _for(_BOTH, lambda reply, call: _edit_user(reply, **dict.fromkeys(_EXTERNAL_LOGIN_SHOWN, _DROP))),
           advises=("RegisterUser.response.echo",)),
    _fault("arn-wrong-region", "respond", "User.Arn names another region than the endpoint's.",
           ("RegisterUser.response.arn", "UpdateUser.response.arn"), _for(_BOTH, _arn_elsewhere)),
    _fault("arn-wrong-namespace", "respond", "User.Arn names the namespace 'main' instead of the request's.",
           ("RegisterUser.response.arn", "UpdateUser.response.arn"), _for(_BOTH, _arn_other_namespace)),
    _fault("invitation-url-for-iam", "respond", "IAM users get a UserInvitationUrl too.",
           ("RegisterUser.response.invitation-url",), _for(("RegisterUser",), _invite_iam)),
    _fault("invitation-url-missing", "respond", "QUICKSIGHT users get no UserInvitationUrl.",
           ("RegisterUser.response.invitation-url",),
           _for(("RegisterUser",), lambda reply, call: _edit_body(reply, UserInvitationUrl=_DROP))),
    _fault("role-echo-altered", "respond", "The answer's User.Role is not the role sent.",
           ("RegisterUser.response.echo", "UpdateUser.response.echo"), _for(_BOTH, _other_role)),
    _fault("email-lowercased", "respond", "The answer's User.Email is the Email sent, lower-cased.",
           ("RegisterUser.response.echo", "UpdateUser.response.echo"), _for(_BOTH, _lower_email)),
    _fault("new-user-active", "respond", "A newly registered user is Active.",
           ("RegisterUser.response.new-user-inactive",),
           _for(("RegisterUser",), lambda reply, call: _edit_user(reply, Active=True))),
    _fault("register-status-202", "respond", "RegisterUser answers 202 Accepted.",
           ("RegisterUser.response.success-status", "RegisterUser.response.status-observed"),
           _for(("RegisterUser",), lambda reply, call: replace(reply, status=202))),
    _fault("register-status-200", "respond", "RegisterUser answers 200 where the real API answers 201.",
           ("RegisterUser.response.status-observed",),
           _for(("RegisterUser",), lambda reply, call: replace(reply, status=200))),
    _fault("update-status-201", "respond", "UpdateUser answers 201 Created (a success, but not the 200 of the model).",
           (), _for(("UpdateUser",), lambda reply, call: replace(reply, status=201)),
           advises=("UpdateUser.response.success-status",)),
    # error
    _fault("not-found-as-400", "error", "ResourceNotFoundException is answered with status 400.",
           ("UpdateUser.lifecycle.missing-user-not-found", "UpdateUser.lifecycle.deleted-user-not-found",
            "RegisterUser.namespace-must-exist", "UpdateUser.namespace-must-exist",
            "RegisterUser.error.status-matches-type", "UpdateUser.error.status-matches-type"), _not_found_400),
    _fault("refusals-500", "error", "Every refusal (a 4xx answer) comes out as 500 InternalFailureException.",
           ("RegisterUser.response.no-server-error", "UpdateUser.response.no-server-error",
            "RegisterUser.namespace-must-exist", "UpdateUser.namespace-must-exist",
            "RegisterUser.lifecycle.duplicate-refused", "UpdateUser.lifecycle.missing-user-not-found",
            "UpdateUser.lifecycle.deleted-user-not-found") + _both(INVALID, INFERRED, UNDESERIALISABLE, UNSETTLED),
           _crash_on_refusal),
    _fault("wrong-error-type-name", "error",
           "Invalid values are refused as InvalidParameterException, a type no source names.",
           _both(INVALID, INFERRED), _misnamed, advises=_both(UNSETTLED)),
    _fault("error-type-misspelt-header", "error",
           "The error type is only in an X-Amzn-Error-Type header (not X-Amzn-ErrorType), none in the body.",
           ("RegisterUser.lifecycle.duplicate-refused", "UpdateUser.lifecycle.missing-user-not-found",
            "RegisterUser.namespace-must-exist", "UpdateUser.namespace-must-exist") + _both(INVALID, INFERRED),
           _misspelt_header, advises=_both(UNDESERIALISABLE, UNSETTLED)),
    _fault("invalid-parameter-422", "error", "InvalidParameterValueException is answered with status 422.",
           ("RegisterUser.error.status-matches-type", "UpdateUser.error.status-matches-type")
           + _both(INVALID, INFERRED), _status_422, advises=_both(UNSETTLED)),
    _fault("update-refusals-as-resource-exists", "error",
           "UpdateUser refuses invalid values as 409 ResourceExistsException (ResourceType USER), an error only "
           "RegisterUser declares.", ("UpdateUser.error.declared",) + INVALID["UpdateUser"] + INFERRED["UpdateUser"],
           _refusals_as_exists, advises=UNSETTLED["UpdateUser"]),
    _fault("resource-type-missing", "error",
           "ResourceNotFoundException and ResourceExistsException bodies carry no ResourceType.",
           ("RegisterUser.error.resource-type", "UpdateUser.error.resource-type"), _without_resource_type),
    _fault("error-request-id-missing", "error", "Error bodies carry no RequestId.",
           ("RegisterUser.error.request-id-body", "UpdateUser.error.request-id-body"),
           lambda reply, call: _edit_body(reply, RequestId=_DROP)),
    _fault("error-message-missing", "error", "Error bodies carry no Message.",
           ("RegisterUser.error.body", "UpdateUser.error.body"),
           lambda reply, call: _edit_body(reply, Message=_DROP)),
    _fault("error-body-not-json", "error", "Error bodies are plain text, not JSON.",
           ("RegisterUser.error.body", "UpdateUser.error.body", "RegisterUser.error.resource-type",
            "UpdateUser.error.resource-type"), _plain_text),
]

FAULTS: dict[str, Fault] = {f.name: f for f in _FAULTS}
assert len(FAULTS) == len(_FAULTS), "fault names must be unique"
