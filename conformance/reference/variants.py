"""The faithful ways a QuickSight server may differ: every variant is one the sources allow.

The suite must pass each of them. A variant only changes how answers are
written (where the error type goes, which extra members a body carries),
never what is accepted or refused.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

CONSTRAINT_ERRORS = ("InvalidParameterValueException", "ValidationException")
ERROR_HEADER_STYLES = ("plain", "suffix", "prefix")


@dataclass(frozen=True)
class Variant:
    """How the reference server writes its answers.

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
    """

    status_in_body: bool = False
    constraint_error: str = "InvalidParameterValueException"
    error_header_style: str = "plain"
    error_in_body: bool = False
    error_header: bool = True
    extra_members: bool = False

    def __post_init__(self) -> None:
        if self.constraint_error not in CONSTRAINT_ERRORS:
            raise ValueError(f"constraint_error must be one of {CONSTRAINT_ERRORS}, not {self.constraint_error!r}")
        if self.error_header_style not in ERROR_HEADER_STYLES:
            raise ValueError(f"error_header_style must be one of {ERROR_HEADER_STYLES}, "
                             f"not {self.error_header_style!r}")
        for name in ("status_in_body", "error_in_body", "error_header", "extra_members"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if not self.error_header and not self.error_in_body:
            raise ValueError("error_header=False needs error_in_body=True: an error must name its type somewhere")

    def spell_error_type(self, error_type: str) -> str:
        """The error type as this variant writes it in the header (and in __type)."""
        if self.error_header_style == "suffix":
            return f"{error_type}:http://internal.amazon.com/coral/com.amazonaws.quicksight/"
        if self.error_header_style == "prefix":
            return f"com.amazonaws.quicksight#{error_type}"
        return error_type


OPTION_NAMES = tuple(f.name for f in fields(Variant))

# Every allowed variant at least once, for the suite's self-validation: (name, options of start_reference).
VARIANTS: list[tuple[str, dict]] = [
    ("faithful", {}),
    ("status-in-body", {"status_in_body": True}),
    ("validation-exception", {"constraint_error": "ValidationException"}),
    ("error-header-suffix", {"error_header_style": "suffix"}),
    ("error-header-prefix", {"error_header_style": "prefix"}),
    ("error-in-body", {"error_in_body": True}),
    ("error-only-in-body", {"error_in_body": True, "error_header": False}),
    ("extra-members", {"extra_members": True}),
    ("all-at-once", {"status_in_body": True, "constraint_error": "ValidationException",
                     "error_header_style": "prefix", "error_in_body": True, "extra_members": True}),
]
