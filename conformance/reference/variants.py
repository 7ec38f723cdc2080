"""The ways a QuickSight server may differ that the sources allow: faithful and lenient variants.

A *faithful* option only changes how answers are written (where the error
type goes, which extra members a body carries): the suite must pass every
rule. A *lenient* option makes a choice the sources leave open, against what
an inference (a SHOULD rule, or a SHOULD part of a rule) expects: accepting
what the suite only infers is refused, refusing what it only infers is
accepted, answering in a way no page or observation rules out. The suite
must report each such choice as an advisory, never as a failure: VARIANTS
names, per entry, the rule ids it must make advisory (`advises`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from qsconform.conformance.reference.crossfield import UNKNOWN_FATE
from qsconform.conformance.reference.rulegroups import UNDESERIALISABLE

CONSTRAINT_ERRORS = ("InvalidParameterValueException", "ValidationException")
ERROR_HEADER_STYLES = ("plain", "suffix", "prefix")
# The error type of a body that cannot be deserialised: SerializationException (Coral), or a validation
# failure (both accepted: outcome malformed_body), or another 400 type no source names (lenient: the
# error type of that outcome is only an inference).
DESERIALISATION_ERRORS = ("SerializationException", "ValidationException", "BadRequestException")
INVITATION_URL_SCHEMES = ("https", "http")
# Whether the server decides existence before it validates members, and how it answers an AwsAccountId that is not
# the caller's (a malformed one included): "no" (members first), AccessDeniedException 401 or 400 (the model, the
# common-errors page), or 404 ResourceNotFoundException (an account not signed up, observed #11). A namespace that
# does not exist (a malformed one included) is then 404 ResourceNotFoundException, ResourceType NAMESPACE.
EXISTENCE_FIRST = ("no", "access-denied", "access-denied-400", "not-found")
# How the server answers a request breaking a rule whose fate no source gives (crossfield.UNKNOWN_FATE).
UNKNOWN_FATES = ("refuse", "refuse-validation", "accept")

OPTION_CHOICES = {"constraint_error": CONSTRAINT_ERRORS, "error_header_style": ERROR_HEADER_STYLES,
            "deserialisation_error": DESERIALISATION_ERRORS, "invitation_url_scheme": INVITATION_URL_SCHEMES,
            "unknown_fate": UNKNOWN_FATES, "existence_first": EXISTENCE_FIRST}


@dataclass(frozen=True)
class Variant:
    """How the reference server writes its answers, and the open choices it makes.

    Faithful options (the suite passes every rule):

    status_in_body: success bodies also carry "Status": <HTTP status> (the model binds Status to the
        status line; an implementation that also writes it in the body is still faithful).
    constraint_error: the error type of a member-constraint violation. Unsettled (observed, "Not yet
        seen anywhere public"): Coral services answer ValidationException, the model declares
        InvalidParameterValueException. Cross-field refusals are InvalidParameterValueException
        either way (observed #7, #8).
    error_header_style: how X-Amzn-ErrorType spells the type: "plain" (Type), "suffix"
        (Type:http://internal.amazon.com/...) or "prefix" (com.amazonaws.quicksight#Type).
    error_in_body: error bodies also carry "__type", spelt like the header.
    error_header: False leaves X-Amzn-ErrorType out, so the type is only in the body's __type
        (needs error_in_body).
    extra_members: success and error bodies carry members no model names yet ("X-Future",
        User.FutureField): clients must tolerate what AWS adds.
    transient_unavailable: every fifth distinct request is answered 503 ResourceUnavailableException the
        first time (both pages document it): a client retries, and the suite must judge the answer after.
    deserialisation_error: the type of a refusal of a body that cannot be deserialised (not JSON, not
        an object, a member of the wrong JSON type): SerializationException or ValidationException
        are faithful; BadRequestException is lenient (the type is an inference: malformed_body, SHOULD).
    describe_lags: the first DescribeUser of a user after an update answers the values before it, the
        next ones the new values (eventual consistency, which the suite tolerates by reading again a
        bounded number of times before UpdateUser.lifecycle.update-persists is broken).
    existence_first: the account and the namespace a request names are looked up before its members are
        validated, as AWS services authorise a request against the resource in its path first (no source
        gives the real API's order): an AwsAccountId that is not the caller's, a malformed one included, is
        refused with AccessDeniedException 401 ("access-denied"), 400 ("access-denied-400"), or 404
        ResourceNotFoundException as an account not signed up ("not-found", observed #11: no ResourceType, as
        no source says which one such an answer names: lenient, *.error.resource-type advisory); a namespace
        that does not exist, a malformed one included, is 404 ResourceNotFoundException, ResourceType
        NAMESPACE (observed #11). The spec accepts each of these answers (outcomes invalid_account,
        invalid_namespace).

    Lenient options (the suite reports advisories, never failures):

    accept_session_name_without_iam: a SessionName with a non-IAM identity is accepted and ignored
        (RegisterUser.sessionname-needs-iam: the page does not say it is refused).
    accept_any_iam_arn: an IamArn that is no IAM user or role ARN is accepted for IAM, the user named
        after the ARN's last part (RegisterUser.iam-arn-format: no source gives a pattern).
    accept_custom_oidc_without_url: CUSTOM_OIDC without CustomFederationProviderUrl is accepted and
        stored without a URL (*.custom-oidc-requires-url).
    ignore_url_with_cognito: COGNITO with a CustomFederationProviderUrl is accepted, the URL ignored
        ("don't use" it: *.cognito-forbids-url).
    ignore_url_without_provider_type: a CustomFederationProviderUrl without a provider type is accepted
        and ignored (*.url-requires-provider-type).
    accept_any_provider_type: any ExternalLoginFederationProviderType is accepted and stored (the model
        types it as a plain String: *.ExternalLoginFederationProviderType.enum).
    refuse_external_login_without_role: external login members for an identity that is no IAM role
        session (a QUICKSIGHT or IAM user, at RegisterUser; a user registered so, at UpdateUser) are
        refused with 400 InvalidParameterValueException (the pages tie external login to an IAM role;
        the suite sends such requests as valid by inference only).
    request_id_header: False leaves x-amzn-RequestId out of every answer (the body's RequestId stays;
        that every answer carries the header is an inference).
    invitation_url_scheme: "http" gives QUICKSIGHT users an http:// UserInvitationUrl (that it is https
        is an inference).
    update_answers_previous_user: UpdateUser answers the User as it was before the update, while the
        update is stored (DescribeUser shows it): that the answer shows the new values is an inference.
    update_omits_principal_id: UpdateUser answers a User without PrincipalId (only RegisterUser's
        answer was seen to carry every member; the model requires none).

    Playing a real API the suite has no answer for (the suite sends none of these cases unless an
    observation settles them, so every setting is faithful without one):

    unknown_fate: a request breaking a rule whose fate no source gives (crossfield.UNKNOWN_FATE) is
        refused with 400 InvalidParameterValueException ("refuse", the default), refused with 400
        ValidationException ("refuse-validation"), or accepted and stored ("accept").
    """

    status_in_body: bool = False
    constraint_error: str = "InvalidParameterValueException"
    error_header_style: str = "plain"
    error_in_body: bool = False
    error_header: bool = True
    extra_members: bool = False
    deserialisation_error: str = "SerializationException"
    transient_unavailable: bool = False
    describe_lags: bool = False
    existence_first: str = "no"
    # lenient
    accept_session_name_without_iam: bool = False
    accept_any_iam_arn: bool = False
    accept_custom_oidc_without_url: bool = False
    ignore_url_with_cognito: bool = False
    ignore_url_without_provider_type: bool = False
    accept_any_provider_type: bool = False
    refuse_external_login_without_role: bool = False
    request_id_header: bool = True
    invitation_url_scheme: str = "https"
    update_answers_previous_user: bool = False
    update_omits_principal_id: bool = False
    unknown_fate: str = "refuse"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in OPTION_CHOICES:
                if value not in OPTION_CHOICES[f.name]:
                    raise ValueError(f"{f.name} must be one of {OPTION_CHOICES[f.name]}, not {value!r}")
            elif not isinstance(value, bool):
                raise ValueError(f"{f.name} must be true or false, not {value!r}")
        if not self.error_header and not self.error_in_body:
            raise ValueError("error_header=False needs error_in_body=True: an error must name its type somewhere")

    def spell_error_type(self, error_type: str) -> str:
        """The error type as this variant writes it in the header (and in __type)."""
        if self.error_header_style == "suffix":
            return f"{error_type}:http://internal.amazon.com/coral/com.amazonaws.quicksight/"
        if self.error_header_style == "prefix":
            return f"com.amazonaws.quicksight#{error_type}"
        return error_type

    def skips(self) -> frozenset[str]:
        """The server's own checks (validate.py ids) a lenient variant switches off."""
        off = {"accept_session_name_without_iam": ("RegisterUser.sessionname-needs-iam",),
               "accept_any_iam_arn": ("RegisterUser.iam-arn-format",),
               "accept_custom_oidc_without_url": ("RegisterUser.custom-oidc-requires-url",
                                                  "UpdateUser.custom-oidc-requires-url"),
               "ignore_url_with_cognito": ("RegisterUser.cognito-forbids-url", "UpdateUser.cognito-forbids-url"),
               "ignore_url_without_provider_type": ("RegisterUser.url-requires-provider-type",
                                                    "UpdateUser.url-requires-provider-type"),
               "accept_any_provider_type": ("RegisterUser.ExternalLoginFederationProviderType.enum",
                                            "UpdateUser.ExternalLoginFederationProviderType.enum")}
        unknown = UNKNOWN_FATE if self.unknown_fate == "accept" else ()
        return frozenset(check for name, checks in off.items() if getattr(self, name) for check in checks) | set(unknown)

    def refusal_errors(self) -> dict[str, str]:
        """The error type of a cross-field refusal, by check id, where it is not InvalidParameterValueException."""
        return {check: "ValidationException" for check in UNKNOWN_FATE} if self.unknown_fate == "refuse-validation" else {}


OPTION_NAMES = tuple(f.name for f in fields(Variant))


def unknown_names(kind: str, names, known, listing: str) -> str | None:
    """One line on the names that are not known ("unknown fault 'x' (did you mean y?); `...` lists them"), the
    closest known ones suggested; None when every name is known."""
    import difflib

    known = list(known)
    wrong = [n for n in dict.fromkeys(names) if n not in known]
    if not wrong:
        return None
    said = []
    for name in wrong:
        close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.7)
        said.append(f"{name!r}" + (f" (did you mean {' or '.join(close)}?)" if close else ""))
    return f"unknown {kind} {', '.join(said)}; `python -m qsconform.conformance.reference {listing}` lists them"


@dataclass(frozen=True)
class Pacing:
    """When the server answers, not what: options for trying a client against a slow or rate-limited target.

    Not variants: no answer changes (a throttled request is refused before anything is done with it, and
    is answered as it would have been once sent again), so VARIANTS, and the verdict runs over it, leave
    them out. Given like
    variant options (start_reference(latency_ms=50), --reference-option throttle_rate=20); a number may
    come as text ("50").

    throttle_rate: requests per second the server takes, in a token bucket as deep as one second's
        worth (at least one request), full at the start; a request above it is answered
        429 ThrottlingException (no Retry-After) and does nothing. 0: no limit.
    latency_ms: milliseconds the server waits before writing each answer (a throttled one too), as a
        target a network away would; requests are served in threads, so waits overlap. 0: none.
    drop_after_effect: the share (0 to 1) of requests whose connection is reset after the request took effect
        and before any answer is written, as a network that loses answers on the way back. Which ones is
        decided by a generator seeded with drop_seed, the request (method, path, body) and how many times that
        request came before: the same requests see the same drops in every run, and a request sent again gets
        a fresh draw.
    drop_seed: the seed of those draws (a whole number).
    """

    throttle_rate: float = 0.0
    latency_ms: float = 0.0
    drop_after_effect: float = 0.0
    drop_seed: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            try:
                number = float(value) if not isinstance(value, bool) else None
            except (TypeError, ValueError):
                number = None
            if number is None or not 0 <= number < float("inf"):
                raise ValueError(f"{f.name} must be a number, 0 or more, not {value!r}")
            object.__setattr__(self, f.name, number)
        if self.drop_after_effect > 1:
            raise ValueError(f"drop_after_effect is a share of requests, 0 to 1, not {self.drop_after_effect:g}")
        if self.drop_seed != int(self.drop_seed):
            raise ValueError(f"drop_seed must be a whole number, not {self.drop_seed:g}")

    def __bool__(self) -> bool:
        return bool(self.throttle_rate or self.latency_ms or self.drop_after_effect)


PACING_NAMES = tuple(f.name for f in fields(Pacing))


class Listed(tuple):
    """One entry of VARIANTS: a (name, options) pair, with the rule ids the variant makes advisory.

    A plain pair to unpack (`for name, options in VARIANTS`); `advises` is empty for a faithful variant
    (every rule passes) and names every rule a lenient one must make advisory (none may fail)."""

    advises: tuple[str, ...]

    def __new__(cls, name: str, options: dict, advises: tuple[str, ...] = ()):
        entry = super().__new__(cls, (name, options))
        entry.advises = tuple(advises)
        return entry

    @property
    def name(self) -> str:
        return self[0]

    @property
    def options(self) -> dict:
        return self[1]

    def __repr__(self) -> str:
        return f"Listed({self.name!r}, {self.options!r}, advises={self.advises!r})"


_BOTH = ("RegisterUser", "UpdateUser")


def _each(*ids: str) -> tuple[str, ...]:
    """Rule ids for both operations: "response.echo" -> RegisterUser.response.echo, UpdateUser.response.echo."""
    return tuple(f"{op}.{rule}" for rule in ids for op in _BOTH)


# Every option value at least once: (name, options of start_reference), with `advises` (see Listed).
VARIANTS: list[Listed] = [
    # faithful: the suite passes every rule
    Listed("faithful", {}),
    Listed("status-in-body", {"status_in_body": True}),
    Listed("validation-exception", {"constraint_error": "ValidationException"}),
    Listed("error-header-suffix", {"error_header_style": "suffix"}),
    Listed("error-header-prefix", {"error_header_style": "prefix"}),
    Listed("error-in-body", {"error_in_body": True}),
    Listed("error-only-in-body", {"error_in_body": True, "error_header": False}),
    Listed("extra-members", {"extra_members": True}),
    Listed("deserialisation-validation-exception", {"deserialisation_error": "ValidationException"}),
    Listed("transient-unavailable", {"transient_unavailable": True}),
    # answers no source gives, played as a real API might (tests/test_probe.py probes every setting)
    Listed("unknown-fates-accepted", {"unknown_fate": "accept"}),
    Listed("unknown-fates-validation-exception", {"unknown_fate": "refuse-validation"}),
    # the account and the namespace looked up before the members are validated (an order no source rules out)
    Listed("existence-first-access-denied", {"existence_first": "access-denied"}),
    Listed("existence-first-access-denied-400", {"existence_first": "access-denied-400"}),
    # DescribeUser one read behind an update: the suite reads again before it judges (update-persists)
    Listed("describe-lags-after-update", {"describe_lags": True}),
    Listed("all-at-once", {"status_in_body": True, "constraint_error": "ValidationException",
                           "error_header_style": "prefix", "error_in_body": True, "extra_members": True,
                           "deserialisation_error": "ValidationException"}),
    # lenient: the suite reports these rules advisory, and fails none
    Listed("session-name-without-iam-accepted", {"accept_session_name_without_iam": True},
           ("RegisterUser.sessionname-needs-iam",)),
    Listed("any-iam-arn-accepted", {"accept_any_iam_arn": True}, ("RegisterUser.iam-arn-format",)),
    Listed("custom-oidc-url-optional", {"accept_custom_oidc_without_url": True},
           _each("custom-oidc-requires-url")),
    Listed("url-with-cognito-ignored", {"ignore_url_with_cognito": True}, _each("cognito-forbids-url")),
    Listed("url-without-provider-type-ignored", {"ignore_url_without_provider_type": True},
           _each("url-requires-provider-type")),
    Listed("any-provider-type-accepted", {"accept_any_provider_type": True},
           _each("ExternalLoginFederationProviderType.enum")),
    Listed("external-login-without-role-refused", {"refuse_external_login_without_role": True},
           _each("response.success-status") + ("RegisterUser.response.status-observed",)),
    Listed("no-request-id-header", {"request_id_header": False}, _each("response.request-id-header")),
    Listed("http-invitation-url", {"invitation_url_scheme": "http"}, ("RegisterUser.response.invitation-url",)),
    Listed("update-answers-previous-user", {"update_answers_previous_user": True}, ("UpdateUser.response.echo",)),
    Listed("existence-first-not-found", {"existence_first": "not-found"}, _each("error.resource-type")),
    Listed("update-without-principal-id", {"update_omits_principal_id": True},
           ("UpdateUser.response.required-members",)),
    Listed("deserialisation-bad-request", {"deserialisation_error": "BadRequestException"},
           UNDESERIALISABLE["RegisterUser"] + UNDESERIALISABLE["UpdateUser"]),
]
assert len({v.name for v in VARIANTS}) == len(VARIANTS), "variant names must be unique"
