"""Verdicts per rule, and the compliance.json they are written to.

Statuses (docs/levels.md, "Statuses"):
  passed        every example kept the rule
  failed        the target deviates from what a page or the model states (MUST) or what the real
                API was seen doing (OBSERVED): fails the run
  advisory      the target deviates only from what an inference expects (SHOULD): reported with its
                evidence, fails the run only under --strict
  inconclusive  throttled or failing on retry, or no example reached the rule
  unsupported   the target lacks the operation
  skipped       needs configuration this run lacks (--iam-arn on a live target, --max-users reached)
  unsent        no source says what the real API answers, so the suite sends nothing for it
  not-run       selected, but never judged to its end: the run was interrupted or stopped early first
  deselected    left out of this run (--rule, --level, --category, -k, --shard), or judged by another worker

How a run ends, and its exit code: `exit_code_of` (README, "Exit codes"), the one place it is derived.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from qsconform.spec.model import LEVELS, Rule, Spec, StrEnum, deviation_fails_run


class Status(StrEnum):
    """A rule's verdict (the module's docstring says each); a str, so it compares and serialises as its value."""

    PASSED = "passed"
    FAILED = "failed"
    ADVISORY = "advisory"
    INCONCLUSIVE = "inconclusive"
    UNSUPPORTED = "unsupported"
    SKIPPED = "skipped"
    UNSENT = "unsent"
    NOT_RUN = "not-run"
    DESELECTED = "deselected"


STATUSES = tuple(Status)  # in the order reports list them
SCHEMA_VERSION = 1


def fails(statuses, strict: bool = False) -> bool:
    """Whether rules of these statuses fail a run (exit 1): a failed one, or under --strict an advisory one."""
    statuses = set(statuses)
    return "failed" in statuses or (strict and "advisory" in statuses)


def exit_code_of(document: Mapping) -> int:
    """The exit code of the run a compliance document tells: 130 when it was interrupted (a partial run neither
    passes nor fails); else 1 when some rule failed (under --strict, also one advisory; with a baseline, only what
    it does not accept), or when the user's -x/--maxfail stopped it early; else 0. The only derivation of it:
    `qsconform run`, `merge` and the tests read it here."""
    from qsconform.conformance.tools import exits

    if document.get("interrupted"):
        return exits.INTERRUPTED
    strict = bool(document.get("strict"))
    baseline = document.get("baseline")
    if baseline is not None:
        failing = bool(baseline.get("new_failures") or (strict and baseline.get("new_advisories")))
    else:
        failing = fails((rule.get("status") for rule in document.get("rules") or ()), strict)
    return exits.FAILED if failing or document.get("stopped_early") else exits.OK


def partial_text(document: Mapping) -> str | None:
    """How a partial run says so, where a complete one says pass or fail: "interrupted: 40 of 111 rules judged"
    (or "stopped early (-x, --maxfail): ..."); None for a run that judged every rule it set out to."""
    if not (document.get("interrupted") or document.get("stopped_early")):
        return None
    meant = [r for r in document.get("rules") or () if r.get("status") not in ("deselected", "unsent")]
    judged = sum(1 for r in meant if r.get("status") != "not-run")
    how = "interrupted" if document.get("interrupted") else "stopped early (-x, --maxfail)"
    return f"{how}: {judged} of {len(meant)} rules judged"


@dataclass
class Evidence:
    """What reproduces a failure: the request, the answer, a curl line and the seed."""

    request: dict
    response: dict
    curl: str
    seed: int | None
    message: str
    minimal: bool = False  # the shrunk example Hypothesis settled on
    shrink_cut_short: bool = False  # settled on when the profile's shrinking time was up
    level: str = "MUST"  # how strongly the sources back what the example shows: MUST/OBSERVED fail, SHOULD advises
    server_log: tuple[str, ...] = ()  # what a server the run started logged while answering (conformance/wire/serverlog.py)
    steps: tuple[dict, ...] = ()  # its stand-alone reproduction: setup, the judged request, cleanup (reproduction.py)

    @property
    def fails_run(self) -> bool:
        return deviation_fails_run(self.level)

    def outranks(self, other: "Evidence | None") -> bool:
        """Shown instead of `other`: a stronger deviation, else a minimal (shrunk) example of the same strength."""
        if other is None:
            return True
        if self.level != other.level:
            return LEVELS.index(self.level) < LEVELS.index(other.level)
        return self.minimal and not other.minimal

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"message": self.message, "level": self.level, "request": self.request,
               "response": self.response,
               "curl": self.curl, "seed": self.seed, "minimal": self.minimal,
               "shrink_cut_short": self.shrink_cut_short}
        if self.server_log:
            out["server_log"] = list(self.server_log)
        if self.steps:
            out["steps"] = list(self.steps)
        return out


@dataclass
class RuleResult:
    rule: Rule
    status: Status = Status.DESELECTED
    tried: int = 0
    failed: int = 0
    message: str = ""
    example: Evidence | None = None
    seconds: float = 0.0
    held_back: int = 0  # examples not sent for want of registrations (a live target's plan, conformance/engine/budget.py)

    def as_dict(self) -> dict:
        r = self.rule
        out = {"id": r.id, "operation": r.operation, "category": r.category, "level": r.level,
               "source": r.source, "status": self.status, "message": self.message,
               "examples": self.tried, "failures": self.failed, "seconds": round(self.seconds, 3),
               "example": self.example.as_dict() if self.example else None}
        if self.held_back:
            out["held_back"] = self.held_back
        return out


class Results:
    """Thread-safe collector of verdicts; one per run (or per xdist worker)."""

    def __init__(self, spec: Spec):
        self._lock = threading.Lock()
        self.rules: dict[str, RuleResult] = {r.id: RuleResult(r) for r in spec.rules}
        self.started = time.time()

    def tried(self, rule_id: str, deviation: Evidence | None = None) -> None:
        """One example exercised the rule; `deviation` when it broke it."""
        with self._lock:
            res = self.rules[rule_id]
            res.tried += 1
            if deviation is None:
                if res.status not in (Status.FAILED, Status.ADVISORY):
                    res.status = Status.PASSED
                return
            res.failed += 1
            if deviation.fails_run:
                res.status = Status.FAILED
            elif res.status != Status.FAILED:
                res.status = Status.ADVISORY
            # Show the strongest deviation; of those, the minimal one once Hypothesis has shrunk it.
            if deviation.outranks(res.example):
                res.example = deviation
                res.message = deviation.message

    def set(self, rule_id: str, status: str, message: str = "") -> None:
        """Settle a verdict that no example gives: unsupported, inconclusive, skipped, unsent, not-run (cut short).
        A deviation found stays: it is a verdict whatever came after."""
        with self._lock:
            res = self.rules[rule_id]
            if res.status in (Status.FAILED, Status.ADVISORY):
                return
            res.status, res.message = Status(status), message

    def held_back(self, rule_id: str, examples: int) -> None:
        """Examples of a rule not sent for want of registrations; it is judged by those that were."""
        with self._lock:
            self.rules[rule_id].held_back += examples

    def add_time(self, rule_id: str, seconds: float) -> None:
        with self._lock:
            self.rules[rule_id].seconds += seconds

    def summary(self) -> dict:
        return summarize(r.as_dict() for r in self.rules.values())

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.rules.values() if r.status == "failed"]

    def exit_code(self, strict: bool = False) -> int:
        """The exit code these verdicts give a complete run (before any baseline): exit_code_of's."""
        return exit_code_of({"strict": strict, "rules": [{"status": r.status} for r in self.rules.values()]})

    def selected(self, rule_ids) -> None:
        """The rules this run sets out to judge: `not-run` until they get a verdict (deselected otherwise)."""
        with self._lock:
            for rule_id in rule_ids:
                if self.rules[rule_id].status == Status.DESELECTED:
                    self.rules[rule_id].status = Status.NOT_RUN

    def document(self, *, target: dict, seed: int | None, profile: str, versions: dict, strict: bool = False,
                 interrupted: bool = False, stopped_early: bool = False) -> dict:
        """The compliance document; `interrupted` (Ctrl-C, SIGTERM) or `stopped_early` (-x, --maxfail): a partial
        run, whose rules never reached are `not-run`."""
        return {
            "schema_version": SCHEMA_VERSION,
            "target": target,
            "seed": seed,
            "profile": profile,
            "strict": strict,
            "interrupted": interrupted,
            "stopped_early": stopped_early,
            "versions": versions,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "seconds": round(time.time() - self.started, 3),
            "summary": self.summary(),
            "rules": [r.as_dict() for r in self.rules.values()],
        }


def summarize(rules) -> dict:
    """Counts of statuses, in total and per operation, over rule entries of a compliance document."""
    out: dict[str, Any] = {"total": {s: 0 for s in STATUSES}, "operations": {}}
    for rule in rules:
        status = rule["status"] if rule["status"] in STATUSES else "deselected"  # an older report's not-run
        out["total"][status] += 1
        out["operations"].setdefault(rule["operation"], {s: 0 for s in STATUSES})[status] += 1
    return out


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


# Which verdict wins when runs (xdist workers, CI shards) that judged the same rule are merged.
# A rule not-run in one part and judged in another (xdist workers each hold the whole selection) is judged.
_PRECEDENCE = ("failed", "advisory", "passed", "inconclusive", "skipped", "unsupported", "unsent", "not-run",
               "deselected")


def _rank(status: str) -> int:
    return _PRECEDENCE.index(status) if status in _PRECEDENCE else len(_PRECEDENCE)


SHOWN_SERVER_ERRORS = 20  # the retried server errors a report lists (it counts them all)
# The target's lists of users a run could not account for (report.target_info), merged by union.
USER_LISTS = ("users_left_behind", "users_maybe_created")


def merge_documents(documents: list[dict]) -> dict:
    """One compliance document from several of the same spec: shards of a CI matrix or xdist workers."""
    if not documents:
        raise ValueError("nothing to merge")
    first = documents[0]
    specs = {d["versions"]["spec"] for d in documents}
    if len(specs) > 1:
        raise ValueError(f"reports of different specs cannot be merged: {sorted(specs)}")
    rules: dict[str, dict] = {}
    for doc in documents:
        for rule in doc["rules"]:
            have = rules.get(rule["id"])
            if have is None:
                rules[rule["id"]] = dict(rule)
                continue
            winner = min((have, rule), key=lambda r: _rank(r["status"]))
            merged = dict(winner)
            merged["examples"] = have["examples"] + rule["examples"]
            merged["failures"] = have["failures"] + rule["failures"]
            merged["seconds"] = round(have["seconds"] + rule["seconds"], 3)
            if have.get("held_back") or rule.get("held_back"):
                merged["held_back"] = have.get("held_back", 0) + rule.get("held_back", 0)
            merged["example"] = winner["example"] or have["example"] or rule["example"]
            rules[rule["id"]] = merged
    summary = summarize(rules.values())
    target = dict(first["target"])
    for key in USER_LISTS:
        target[key] = sorted({u for d in documents for u in d["target"].get(key, [])})
    kinds: dict[str, dict] = {}
    for doc in documents:
        for group in doc["target"].get("users_left_behind_kinds") or ():
            have = kinds.setdefault(group["kind"], {"kind": group["kind"], "names": []})
            have["names"] += group.get("names") or []
            if "count" in group:
                have["count"] = have.get("count", 0) + group["count"]
    target["users_left_behind_kinds"] = list(kinds.values())
    merged = {**first, "rules": list(rules.values()), "summary": summary, "target": target,
            "strict": any(d.get("strict") for d in documents),
            "interrupted": any(d.get("interrupted") for d in documents),
            "stopped_early": any(d.get("stopped_early") for d in documents),
            "seconds": max(d["seconds"] for d in documents), "merged_from": len(documents)}
    throttling = [d["throttling"] for d in documents if d.get("throttling")]
    if throttling:  # each worker throttled on its own: the counts add up, the slowest rate is the run's
        rates = [t["rate"] for t in throttling if t.get("rate")]
        merged["throttling"] = {"throttled": sum(t.get("throttled", 0) for t in throttling),
                                "gave_up": sum(t.get("gave_up", 0) for t in throttling),
                                "rate": min(rates) if rates else None,
                                "adaptive": any(t.get("adaptive") for t in throttling)}
    lost: dict[str, int] = {}
    for doc in documents:
        for operation, n in (doc.get("answers_lost") or {}).items():
            lost[operation] = lost.get(operation, 0) + n
    merged["answers_lost"] = lost
    costs = [d["cost"] for d in documents if d.get("cost")]
    if costs:  # each worker (shard) registered and sent on its own: the counts add up
        merged["cost"] = _merged_costs(costs)
    retried = [d["server_errors_retried"] for d in documents if d.get("server_errors_retried")]
    if retried:
        merged["server_errors_retried"] = {"requests": sum(r.get("requests", 0) for r in retried),
                                           "first": [e for r in retried for e in r.get("first", [])][:SHOWN_SERVER_ERRORS]}
    return merged


def _merged_costs(costs: list[dict]) -> dict:
    """compliance.json's `cost` of several workers or shards: numbers and counts by key added up, the rest the first's."""
    out = dict(costs[0])
    for key, value in costs[0].items():
        if isinstance(value, bool) or key == "max_users":
            continue
        if isinstance(value, int):
            out[key] = sum(c.get(key, 0) for c in costs)
        elif isinstance(value, dict):
            total: dict = {}
            for c in costs:
                for k, n in (c.get(key) or {}).items():
                    total[k] = total.get(k, 0) + n
            out[key] = dict(sorted(total.items()))
    return out
