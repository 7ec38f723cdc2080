"""The value every strategy draws: one request to send, and what a faithful server answers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Expected:
    """What a faithful server does with a request.

    A valid request (`kind == "success"`) is accepted. An invalid one breaks
    `rule_id` (and `co_broken`, the rules every violation of it breaks too) and
    must be refused with one of `answers`, (HTTP status, error type) pairs.
    """

    kind: str  # "success" | "error"
    rule_id: str | None = None
    co_broken: tuple[str, ...] = ()
    answers: tuple[tuple[int, str], ...] = ()
    operator: str = ""  # how the violation was made: "missing", "null", "wrong_type:object", "above_max", ...
    level: str = "MUST"  # how strongly the sources back this expectation: SHOULD for a request valid by inference
    answers_level: str = "MUST"  # how strongly they back `answers` (the outcome's level; SHOULD when the request
    #                              also breaks a rule of unknown fate, whose refusal may carry another error)
    answer_members: tuple[tuple[str, str, str], ...] = ()  # (error type, member, value) an answer of that type carries

    @property
    def is_success(self) -> bool:
        return self.kind == "success"


@dataclass(frozen=True)
class Request:
    """One request of an operation: URI labels, JSON body and the expected outcome.

    `raw_body`, when set, is sent as is instead of `body` (protocol violations:
    a body that is not JSON, or JSON that is not an object). `ascii_json`
    chooses between the two JSON encodings a client may use for non-ASCII text
    (\\u escapes or raw UTF-8); a faithful server decodes both alike.
    """

    operation: str
    path_params: dict[str, str]
    body: Any
    expected: Expected
    raw_body: bytes | None = None
    ascii_json: bool = True
    notes: tuple[str, ...] = field(default=(), compare=False)

    def body_bytes(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        return json.dumps(self.body, ensure_ascii=self.ascii_json, separators=(",", ":")).encode("utf-8")

    def _repr_pretty_(self, printer, cycle) -> None:
        # Hypothesis prints every explicit example it runs, passing ones too: the whole request cost a
        # tenth of a short run. Reports carry the request itself; this names it.
        printer.text(f"Request({self.operation}, {self.expected.rule_id or self.expected.kind}, notes={self.notes!r})")

    def params(self) -> dict[str, Any]:
        """The flat request the oracle reads: URI labels and body members in one object."""
        flat = dict(self.body) if isinstance(self.body, dict) else {}
        flat.update(self.path_params)
        return flat

    def describe(self) -> dict:
        """A JSON-able summary for reports."""
        out: dict[str, Any] = {"operation": self.operation, "path_params": self.path_params,
               "expected": {"kind": self.expected.kind, "rule_id": self.expected.rule_id,
                            "answers": [list(a) for a in self.expected.answers], "operator": self.expected.operator,
                            "co_broken": list(self.expected.co_broken), "level": self.expected.level,
                            "answers_level": self.expected.answers_level}}
        if self.expected.answer_members:
            out["expected"]["answer_members"] = [list(m) for m in self.expected.answer_members]
        if self.raw_body is not None:
            out["raw_body"] = self.raw_body.decode("utf-8", "replace")
        else:
            out["body"] = self.body
        return out
