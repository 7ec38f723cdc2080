"""Observations: what a target was recorded answering to requests that break one rule each.

`qsconform probe` records them (a cassette), `qsconform observe` reads cassettes into an observations
file (spec/observations.schema.json), and the loader applies the files it is given, and those shipped in
spec/observations/, to the spec. What an observation does to its rule (`Effect`):

- *applies*: the rule's fate was unknown (never sent), or its answer only inferred (SHOULD): the rule
  is now sent, judged by the recorded answer, at OBSERVED strength (a MUST stays MUST), and its
  evidence names the recording;
- *confirms*: the rule already expects that answer: nothing changes;
- *contradicts*: the recording says otherwise than a MUST or OBSERVED rule: shown loudly, never applied
  (a page or a published observation outweighs one recording until someone looks);
- *not applied*: the rule cannot take it (no such rule, a rule no request breaks alone, files that disagree).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from qsconform.spec.model import CrossRule, InputRule, Spec, SpecError

FORMAT = "qsconform-observations/1"
SCHEMA_PATH = Path(__file__).with_name("observations.schema.json")
APPLIES, CONFIRMS, CONTRADICTS, NOT_APPLIED = "applies", "confirms", "contradicts", "not applied"


@dataclass(frozen=True)
class Answer:
    status: int
    error_type: str | None  # None: accepted

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    def __str__(self) -> str:
        return f"accepted ({self.status})" if self.accepted else f"{self.status} {self.error_type or '(no error type)'}"


@dataclass(frozen=True)
class Observation:
    rule_id: str
    answer: Answer
    exchanges: int
    file: str  # the observations file's name, as evidence names it
    cassettes: tuple[str, ...]  # digests
    members: tuple[str, ...] = ()
    recorded: str = ""  # the cassettes' names, targets, regions and dates, in a few words


@dataclass(frozen=True)
class ObservationsFile:
    path: Path
    document: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def observations(self) -> tuple[Observation, ...]:
        return tuple(Observation(o["rule_id"], Answer(o["answer"]["status"], o["answer"]["error_type"]), o["exchanges"],
                                 self.name, tuple(o["cassettes"]), tuple(o.get("members", ())),
                                 self.recorded(tuple(o["cassettes"])))
                     for o in self.document["observations"])

    @property
    def unsettled(self) -> tuple[dict, ...]:
        return tuple(self.document["unsettled"])

    def recorded(self, digests: tuple[str, ...]) -> str:
        """Where and when the cassettes of an observation were recorded, in a few words."""
        parts = []
        for c in self.document["cassettes"]:
            if c["digest"] in digests:
                where = ", ".join(x for x in (c.get("recorded_from"), c.get("region"), (c.get("recorded_at") or "")[:10]) if x)
                parts.append(f"{c['file']} ({where})" if where else c["file"])
        return "; ".join(parts)


@dataclass(frozen=True)
class Effect:
    """What one observation does to the spec."""

    rule_id: str
    kind: str  # APPLIES | CONFIRMS | CONTRADICTS | NOT_APPLIED
    text: str
    file: str
    observation: Observation | None = None

    @property
    def loud(self) -> bool:
        return self.kind == CONTRADICTS


def read_observations(path: str | Path) -> ObservationsFile:
    """Read and validate one observations file; any problem is a SpecError of one line."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read observations: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SpecError(f"{path}: not an observations file: not valid JSON ({exc})") from None
    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise SpecError(f"{path}: not an observations file: {where}: {' '.join(error.message.split())[:160]}")
    known = {c["digest"] for c in document["cassettes"]}
    for i, o in enumerate(document["observations"]):
        missing = set(o["cassettes"]) - known
        if missing:
            raise SpecError(f"{path}: observations/{i}/cassettes: {sorted(missing)[0]} is not among the file's cassettes")
    return ObservationsFile(path, document)


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def validate_document(document: Any) -> list[str]:
    """The schema's complaints about a document (what `qsconform observe` writes must have none)."""
    return [e.message for e in _validator().iter_errors(document)]


# -- what an observation does to its rule -------------------------------------------------------

def effects(spec: Spec, files: list[ObservationsFile]) -> list[Effect]:
    """What each observation of `files` does to `spec` (a spec loaded without them), in file order.
    Files that disagree about a rule settle nothing for it."""
    by_rule: dict[str, list[Observation]] = {}
    out: list[Effect] = []
    for f in files:
        for o in f.observations:
            by_rule.setdefault(o.rule_id, []).append(o)
        for u in f.unsettled:
            answers = ", ".join(f"{str(Answer(a['status'], a['error_type']))} x{a['exchanges']}" for a in u["answers"])
            out.append(Effect(u["rule_id"], NOT_APPLIED, f"unsettled in the recording: {u['why']} ({answers})", f.name))
    for rule_id, seen in by_rule.items():
        answers = {o.answer for o in seen}
        if len(answers) > 1:
            shown = "; ".join(f"{o.file}: {o.answer}" for o in seen)
            out.append(Effect(rule_id, NOT_APPLIED, f"the files disagree ({shown}): nothing settled", seen[0].file))
            continue
        merged = seen[0] if len(seen) == 1 else Observation(
            rule_id, seen[0].answer, sum(o.exchanges for o in seen), ", ".join(o.file for o in seen),
            tuple(d for o in seen for d in o.cassettes), seen[0].members, "; ".join(o.recorded for o in seen))
        out.append(effect_of(spec, merged))
    return out


def effect_of(spec: Spec, obs: Observation) -> Effect:
    try:
        rule = spec.rule(obs.rule_id)
    except KeyError:
        return Effect(obs.rule_id, NOT_APPLIED, "no rule of this spec has this id", obs.file, obs)
    seen = f"recorded {obs.answer} in {obs.exchanges} exchange{'s' if obs.exchanges != 1 else ''}"
    if not isinstance(rule, InputRule):
        return Effect(rule.id, NOT_APPLIED, f"{seen}; only rules a request breaks are observed", obs.file, obs)
    if not rule.sent and rule.kind != "cross":
        return Effect(rule.id, NOT_APPLIED, f"{seen}; the rule is not sent because {rule.why or 'no request breaks it'}",
                      obs.file, obs)
    expected = _expected(spec, rule)
    send_as_valid = isinstance(rule, CrossRule) and rule.send_as_valid
    if rule.sent and not send_as_valid:
        if _answers(expected, obs.answer):
            return Effect(rule.id, CONFIRMS, f"{seen}; the spec expects that already ({rule.level})", obs.file, obs)
        assert rule.outcome is not None  # a sent input rule names the outcome of its violations
        strength = spec[rule.operation].answers_level(rule.outcome) if not obs.answer.accepted else rule.level
        if rule.kind == "cross" and "SHOULD" in (rule.level, strength):
            return Effect(rule.id, APPLIES, f"{seen}; the spec inferred {_shown(expected)} (SHOULD): now expects "
                                            f"{obs.answer} (OBSERVED)", obs.file, obs)
        return Effect(rule.id, CONTRADICTS, f"{seen}; the spec expects {_shown(expected)} ({rule.level}, {rule.source}): "
                                            "not applied", obs.file, obs)
    if send_as_valid and obs.answer.accepted:
        return Effect(rule.id, APPLIES, f"{seen}; requests breaking it were sent as valid by inference (SHOULD): now "
                                        "as observed (OBSERVED)", obs.file, obs)
    if obs.answer.accepted and rule.level == "MUST":
        return Effect(rule.id, CONTRADICTS, f"{seen}; the spec says it is refused (MUST, {rule.source}): not applied",
                      obs.file, obs)
    level = "MUST" if rule.level == "MUST" else "OBSERVED"
    return Effect(rule.id, APPLIES, f"{seen}; fate unknown until now: its violations are sent, expected "
                                    f"{obs.answer} ({level})", obs.file, obs)


def _expected(spec: Spec, rule: InputRule) -> list[tuple[int, str]]:
    if (isinstance(rule, CrossRule) and rule.send_as_valid) or not rule.outcome:
        return []
    return spec[rule.operation].answers(rule.outcome)


def _answers(expected: list[tuple[int, str]], answer: Answer) -> bool:
    return not answer.accepted and any(s == answer.status and (not t or t == answer.error_type) for s, t in expected)


def _shown(expected: list[tuple[int, str]]) -> str:
    return " or ".join(f"{s} {t}".strip() for s, t in expected) or "acceptance"


# -- applying one to the raw spec (the loader's business) ----------------------------------------

def outcome_name(rule_id: str) -> str:
    return f"observed:{rule_id}"


def patched_rule(raw: dict, effect: Effect, success_statuses: list[int]) -> tuple[dict, dict | None]:
    """A cross rule as written, and the outcome class it is judged by (None: its violations are valid),
    after an observation applies."""
    obs = effect.observation
    assert obs is not None  # only an effect that applies is patched in, and it carries its observation
    evidence = {"recording": obs.file, "rule": obs.rule_id}
    source = f"{raw['source']}; recorded: {obs.answer} in {obs.exchanges} exchanges ({obs.file}, from {obs.recorded})"
    if raw.get("send_as_valid") and obs.answer.accepted:
        # Sent as valid by inference, and the recording agrees: valid as observed.
        return dict(raw, level="OBSERVED", evidence=list(raw.get("evidence", ())) + [evidence], source=source,
                    why=f"Requests breaking it are sent as valid: the recording ({obs.file}) saw them accepted."), None
    rule = dict(raw, generate_violations=True, outcome=outcome_name(obs.rule_id),
                level="MUST" if raw["level"] == "MUST" else "OBSERVED", source=source,
                evidence=list(raw.get("evidence", ())) + [evidence])
    rule.pop("send_as_valid", None)
    answers = ([[s, ""] for s in success_statuses] if obs.answer.accepted
               else [[obs.answer.status, obs.answer.error_type or ""]])
    outcome = {"answers": answers, "source": f"recorded: {obs.file}", "level": "OBSERVED",
               "why": f"what the recorded target answered, {obs.exchanges} exchanges alike", "evidence": [evidence]}
    return rule, outcome
