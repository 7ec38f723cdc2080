"""The outcome of a comparison: each interaction's Outcome, their differences grouped per rule, the exit code,
compare.json and compare.html (the summary printed to the terminal: compare/console.py)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from qsconform.conformance.compare.diff import KINDS, Difference, short_json
from qsconform.conformance.tools import exits
from qsconform.spec.model import deviation_fails_run


@dataclass
class Outcome:
    """One interaction: compared (with its differences), skipped or inconclusive (with why)."""

    index: int
    operation: str
    rule_id: str | None
    request: dict
    status: str = "compared"  # compared | skipped | inconclusive
    why: str = ""
    differences: list[Difference] = field(default_factory=list)
    reference_status: int | None = None  # the recorded status, or the reference target's
    reference_error_type: str | None = None  # and its error type
    level: str | None = None  # the level of the rule it was sent for; None when not sent for a rule of the spec

    @property
    def group(self) -> str:
        return self.rule_id or self.operation

    @property
    def advisory(self) -> bool:
        """Its differences are advisory: the rule it was sent for is an inference (SHOULD)."""
        return self.level is not None and not deviation_fails_run(self.level)

    def as_dict(self) -> dict:
        return {"index": self.index, "operation": self.operation, "rule_id": self.rule_id, "group": self.group,
                "level": self.level, "advisory": self.advisory,
                "request": self.request, "status": self.status, "why": self.why,
                "differences": [d.as_dict() for d in self.differences]}


def rule_level(spec, rule_id: str | None) -> str | None:
    """The level of the rule an interaction was sent for (its cassette label); None for a label that is
    not a rule of the spec, such as "RegisterUser.valid" or a setup step."""
    if not rule_id:
        return None
    try:
        return spec.rule(rule_id).level
    except KeyError:
        return None


@dataclass
class CompareReport:
    mode: str  # replay | live
    target: str
    reference: str  # the cassette, or the reference target
    outcomes: list[Outcome] = field(default_factory=list)
    left_behind: dict[str, list[str]] = field(default_factory=dict)  # side -> user names not deleted
    prefixes: dict[str, str] = field(default_factory=dict)  # side -> the user-name prefix used there (for sweep)
    registered: dict[str, dict] = field(default_factory=dict)  # side -> the users registered there, by role
    held_back: int = 0  # drawn registrations not sent: beyond what --max-users leaves on a live target
    strict: bool = False  # advisory differences change the exit code too
    started: list[str] = field(default_factory=list)  # sides the comparison started itself (moto, reference)
    seconds: float | None = None  # how long the comparison took

    @property
    def unallowed(self) -> list[Difference]:
        return [d for o in self.outcomes for d in o.differences if not d.allowed]

    @property
    def advisories(self) -> list[Difference]:
        """Unallowed differences in interactions sent for SHOULD rules: listed, deciding only when strict."""
        return [d for o in self.outcomes if o.advisory for d in o.differences if not d.allowed]

    @property
    def allowed(self) -> list[Difference]:
        return [d for o in self.outcomes for d in o.differences if d.allowed]

    @property
    def deciding(self) -> list[Difference]:
        """The unallowed differences that set the exit code: all of them when strict, else all but advisories."""
        return [d for o in self.outcomes if self.strict or not o.advisory for d in o.differences if not d.allowed]

    @property
    def exit_code(self) -> int:
        return exits.FAILED if self.deciding else exits.OK

    def groups(self) -> dict[str, dict]:
        """Per rule id (or operation): how many interactions, and each distinct difference with its count."""
        out: dict[str, dict] = {}
        for o in self.outcomes:
            g = out.setdefault(o.group, {"interactions": 0, "skipped": 0, "inconclusive": 0, "level": o.level,
                                         "advisory": o.advisory, "differences": {}})
            g["interactions"] += 1
            if o.status != "compared":
                g[o.status] += 1
            for d in o.differences:
                key = (d.kind, re.sub(r"\[\d+\]", "[]", d.path), short_json(d.recorded, 200), short_json(d.got, 200))
                entry = g["differences"].setdefault(key, {**d.as_dict(), "count": 0})
                entry["count"] += 1
        for g in out.values():
            g["differences"] = sorted(g["differences"].values(),
                                      key=lambda e: (e["allowed"] is not None, KINDS.index(e["kind"]), e["path"]))
        return dict(sorted(out.items()))

    def as_dict(self) -> dict:
        return {"mode": self.mode, "target": self.target, "reference": self.reference,
                "exit_code": self.exit_code, "strict": self.strict,
                "totals": {"interactions": len(self.outcomes),
                           "compared": sum(o.status == "compared" for o in self.outcomes),
                           "skipped": sum(o.status == "skipped" for o in self.outcomes),
                           "inconclusive": sum(o.status == "inconclusive" for o in self.outcomes),
                           "differences": len(self.unallowed), "advisory_differences": len(self.advisories),
                           "allowed_differences": len(self.allowed)},
                "groups": self.groups(), "interactions": [o.as_dict() for o in self.outcomes],
                "prefixes": self.prefixes, "left_behind": self.left_behind, "started": list(self.started),
                "registered": self.registered, "held_back": self.held_back,
                "seconds": None if self.seconds is None else round(self.seconds, 3)}

    def summary(self, directory: Path | None = None, width: int | None = None) -> str:
        """What the command prints (compare/console.py)."""
        from qsconform.conformance.compare.console import summary_lines

        return "\n".join(summary_lines(self.as_dict(), directory, width))

    def write(self, report_dir: str | Path) -> Path:
        """compare.json (every interaction and difference) and compare.html (the same, rendered); the json's path."""
        from qsconform.conformance.reporting.render.compare import render_compare

        directory = Path(report_dir)
        directory.mkdir(parents=True, exist_ok=True)
        document = self.as_dict()
        path = directory / "compare.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (directory / "compare.html").write_text(render_compare(document), encoding="utf-8")
        return path
