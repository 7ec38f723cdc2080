"""Baselines for CI gating: the deviations a team has accepted, so that only new ones fail a build.

A baseline file records the failed and advisory rules of one run:

    {"schema_version": 1, "target": "moto", "created": "2026-11-23T07:00:00Z",
     "accepted": [{"rule": "RegisterUser.UserName.pattern", "operation": "RegisterUser", "message": "...",
                   "status": "failed"}]}

`compare` sorts the rules of a later run against it: new failures (fail the build), new advisories
(fail it only when the run is strict), deviations still accepted, rules fixed since (in the baseline,
passed now), rules unconfirmed (in the baseline, but this run could not judge them: inconclusive,
unsupported, skipped, unsent, deselected) and rules missing from this run (renamed or removed from the
spec). An entry accepted as an advisory does not accept a failure of the same rule: the deviation got
stronger. Entries without "status" (files written before advisories existed) accept a failure. Entries
may carry more keys (say a "reason" written by hand): they are kept on load and ignored.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import jsonschema

from qsconform.conformance.judging import schema_errors

SCHEMA_VERSION = 1
# The statuses a baseline accepts: a deviation that fails the run, and one that fails it only when strict.
DEVIATIONS = ("failed", "advisory")

BASELINE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "qsconform baseline",
    "type": "object",
    "required": ["schema_version", "accepted"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "target": {"type": ["string", "null"]},
        "created": {"type": ["string", "null"]},
        "accepted": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["rule"],
                "properties": {"rule": {"type": "string", "minLength": 1},
                               "operation": {"type": ["string", "null"]},
                               "message": {"type": ["string", "null"]},
                               "status": {"enum": list(DEVIATIONS)}},
            },
        },
    },
}


class BaselineError(Exception):
    """A baseline file that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Accepted:
    rule: str
    operation: str | None = None
    message: str | None = None
    status: str = "failed"  # what was accepted: a failure also covers an advisory of the rule, not the reverse

    def covers(self, status: str) -> bool:
        return status == self.status or (self.status == "failed" and status == "advisory")


@dataclass(frozen=True)
class Baseline:
    target: str | None
    created: str | None
    accepted: tuple[Accepted, ...]
    path: Path | None = None

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(a.rule for a in self.accepted)

    def accepts(self, rule_id: str, status: str) -> bool:
        """Whether a rule of this status is an accepted deviation (else, if it deviates, it is new)."""
        return any(a.rule == rule_id and a.covers(status) for a in self.accepted)


@dataclass(frozen=True)
class BaselineOutcome:
    """A run measured against a baseline. Lists hold rule ids, sorted."""

    new_failures: list[str]
    accepted: list[str]  # failed or advisory now, and accepted
    fixed: list[str]
    unconfirmed: list[str]  # in the baseline, but this run could not judge them
    missing: list[str]  # in the baseline, absent from this run's rules
    baseline_file: str | None = None
    baseline_target: str | None = None
    baseline_created: str | None = None
    target: str | None = None
    new_advisories: list[str] = field(default_factory=list)  # listed; they fail the run only when strict
    strict: bool = False

    @property
    def exit_code(self) -> int:
        """1 when the run has failures the baseline does not accept (or, strict, such advisories), else 0."""
        return 1 if self.new_failures or (self.strict and self.new_advisories) else 0

    @property
    def target_differs(self) -> bool:
        return bool(self.baseline_target and self.target and self.baseline_target != self.target)

    def as_dict(self) -> dict:
        """The outcome as it goes into compliance.json under "baseline"."""
        return {"file": self.baseline_file, "target": self.baseline_target, "created": self.baseline_created,
                "target_differs": self.target_differs, "exit_code": self.exit_code, "strict": self.strict,
                "new_failures": list(self.new_failures), "new_advisories": list(self.new_advisories),
                "accepted": list(self.accepted), "fixed": list(self.fixed),
                "unconfirmed": list(self.unconfirmed), "missing": list(self.missing)}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _target_name(doc: Mapping) -> str | None:
    target = doc.get("target")
    return target.get("name") if isinstance(target, Mapping) else target


def baseline_document(doc: Mapping, created: str | None = None) -> dict:
    """The baseline that accepts every failure and advisory of `doc`, sorted by rule id."""
    deviating = sorted((r for r in doc.get("rules") or [] if r.get("status") in DEVIATIONS), key=lambda r: r["id"])
    return {"schema_version": SCHEMA_VERSION, "target": _target_name(doc), "created": created or _now(),
            "accepted": [{"rule": r["id"], "operation": r.get("operation"), "message": r.get("message", ""),
                          "status": r["status"]} for r in deviating]}


def write_baseline(doc: Mapping, path: Path | str, created: str | None = None) -> Path:
    """Record the current failures and advisories of `doc` as the baseline at `path` (replaced whole, never
    half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(baseline_document(doc, created), indent=2, ensure_ascii=False) + "\n"
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def load_baseline(path: Path | str) -> Baseline:
    """Read a baseline file; BaselineError (one line naming the file) when it is missing or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"baseline {path}: no such file (write one with --write-baseline)") from None
    except IsADirectoryError:
        raise BaselineError(f"baseline {path}: is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise BaselineError(f"baseline {path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(BASELINE_SCHEMA).iter_errors(data))
    if error is not None:
        raise BaselineError(f"baseline {path}: {_describe(error)}")
    accepted = tuple(Accepted(e["rule"], e.get("operation"), e.get("message"), e.get("status", "failed"))
                     for e in data["accepted"])
    return Baseline(target=data.get("target"), created=data.get("created"), accepted=accepted, path=path)


def _describe(error: jsonschema.ValidationError) -> str:
    """A schema error in a few words (conformance/judging/schema_errors.py), an unsupported version said as such."""
    if error.validator == "const" and list(error.absolute_path) == ["schema_version"]:
        return f"schema_version {error.instance!r} is not supported (expected {SCHEMA_VERSION})"
    return schema_errors.describe(error)


def compare(doc: Mapping, baseline: Baseline, strict: bool | None = None) -> BaselineOutcome:
    """Sort the rules of a run against a baseline (see the module docstring). `strict`: whether new
    advisories fail the run; None takes the document's own "strict" (false when absent)."""
    status = {r["id"]: r.get("status") for r in doc.get("rules") or []}
    in_baseline = baseline.rule_ids
    new = {s: sorted(rule for rule, got in status.items() if got == s and not baseline.accepts(rule, s))
           for s in DEVIATIONS}
    return BaselineOutcome(
        new_failures=new["failed"],
        new_advisories=new["advisory"],
        accepted=sorted(rule for rule in in_baseline
                        if status.get(rule) in DEVIATIONS and baseline.accepts(rule, status[rule])),
        fixed=sorted(rule for rule in in_baseline if status.get(rule) == "passed"),
        unconfirmed=sorted(rule for rule in in_baseline
                           if rule in status and status[rule] not in (*DEVIATIONS, "passed")),
        missing=sorted(rule for rule in in_baseline if rule not in status),
        strict=bool(doc.get("strict")) if strict is None else strict,
        baseline_file=str(baseline.path) if baseline.path else None,
        baseline_target=baseline.target, baseline_created=baseline.created, target=_target_name(doc))
