"""`qsconform probe`: learn what a target answers where no source says, and record it.

For every rule whose fate is unknown (the suite never sends its violations) and every rule that holds
at OBSERVED on a single published observation, a probe sends a small deterministic set of requests
breaking that rule alone (its boundary cases, then a few drawn with a fixed seed: the same set every
time) and records each exchange in a cassette, labelled with the rule. `qsconform observe` turns the
cassette into observations the suite then judges by (spec/observations.py).

A probe keeps every promise of a run (conformance/session.py): it registers only users under its own
prefix (IAM identities only from --iam-arn on a live target), at most --max-users on a live target,
deletes them all on every way out (Ctrl-C included), and never records a credential.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from qsconform.conformance import interrupt
from qsconform.conformance.checks import user_name_of
from qsconform.conformance.compare.draw import draw_requests
from qsconform.conformance.preparation import NotPrepared
from qsconform.conformance.run import NotJudged, RunConfig
from qsconform.conformance.session import RunSession
from qsconform.spec.loader import probing_spec
from qsconform.spec.model import Rule, Spec
from qsconform.spec.request import Request
from qsconform import strategies

PROBE_SEED = 1201  # fixed: a probe sends the same requests every time
DRAWN_PER_RULE = 3  # besides the rule's boundary cases
BOUNDARY_PER_RULE = 3


@dataclass(frozen=True)
class Probe:
    rule: Rule
    requests: tuple[Request, ...]


@dataclass(frozen=True)
class NotProbed:
    rule_id: str
    why: str


@dataclass(frozen=True)
class Plan:
    probes: tuple[Probe, ...]
    not_probed: tuple[NotProbed, ...]

    def users(self, spec: Spec) -> list[str]:
        """The users the probe would register: those its registrations name, and those its updates act on."""
        names: list[str] = []
        for probe in self.probes:
            for request in probe.requests:
                setup = spec[request.operation].setup
                name = request.path_params.get(setup.member) if setup else user_name_of(request)
                if isinstance(name, str) and name not in names:
                    names.append(name)
        return names


def probed_rules(spec: Spec) -> list[Rule]:
    """The rules a probe asks about: those whose fate is unknown, and those one published observation holds."""
    out = []
    for rule in spec.rules:
        if not rule.is_input:
            continue
        single = rule.sent and rule.level == "OBSERVED" and sum("observation" in e for e in rule.evidence) == 1
        if single or (not rule.sent and rule.kind == "cross"):
            out.append(rule)
    return out


def plan(spec: Spec, config: strategies.StrategyConfig) -> Plan:
    """What a probe sends, rule by rule, and the rules it leaves alone with why: the same for the same spec and configuration."""
    rules = probed_rules(spec)
    unknown = [r.id for r in rules if not r.sent and not r.not_probed]
    probing = probing_spec(spec, unknown)
    probes, not_probed = [], []
    for rule in rules:
        if rule.not_probed:
            not_probed.append(NotProbed(rule.id, rule.not_probed))
            continue
        if not strategies.breakable_alone(rule.operation, rule.id, spec=probing):
            not_probed.append(NotProbed(rule.id, "no request breaks it alone" + (f" ({rule.why})" if rule.why else "")))
            continue
        requests = _requests(probing, config, rule)
        if not requests:
            not_probed.append(NotProbed(rule.id, "needs configuration this probe lacks (e.g. --iam-arn on a live target)"))
            continue
        probes.append(Probe(probing.rule(rule.id), tuple(requests)))
    return Plan(tuple(probes), tuple(not_probed))


def _requests(spec: Spec, config: strategies.StrategyConfig, rule: Rule) -> list[Request]:
    boundary = [r for r in strategies.boundary_examples(rule.operation, config, spec=spec)
                if r.expected.rule_id == rule.id][:BOUNDARY_PER_RULE]
    drawn = draw_requests(spec, config, PROBE_SEED, per_rule=DRAWN_PER_RULE, rules=[rule.id])
    out, seen = [], set()
    for request in boundary + drawn:
        key = (tuple(sorted(request.path_params.items())), request.body_bytes())
        if key not in seen:
            seen.add(key)
            out.append(request)
    return out


def dry_run_config(config: RunConfig) -> strategies.StrategyConfig:
    """The strategies' configuration of a probe that opens no target (--dry-run)."""
    live = config.live or config.target.strip().lower() == "aws"
    return strategies.StrategyConfig(account_id=config.account_id or "111122223333", namespace=config.namespace,
                                     user_prefix=config.prefix, iam_arns=config.iam_arns,
                                     synthetic_iam_arns=not live, live_safe=live,
                                     custom_permissions_name=config.custom_permissions_name)


# -- sending --------------------------------------------------------------------------------------

@dataclass
class ProbeResult:
    answers: dict[str, Counter] = field(default_factory=dict)  # rule id -> Counter of answers ("400 X", "201")
    not_probed: list[NotProbed] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    sent: int = 0


def probe(config: RunConfig, spec: Spec, record: Path, *, server_options: dict | None = None,
          progress=lambda line: None) -> ProbeResult:
    """Send the plan to the target and record every exchange in `record` (a cassette)."""
    result = ProbeResult()
    session = RunSession(config, spec, server_options=server_options, record=record)
    try:
        # Compiling the oracle's schemas and drawing: a Ctrl-C there may come back as a library's own error.
        with interrupt.unwrapped():
            run = session.start()
            the_plan = plan(spec, run.strategy_config)
            result.not_probed += the_plan.not_probed
            for i, item in enumerate(the_plan.probes, 1):
                progress(f"[{i}/{len(the_plan.probes)}] {item.rule.id}")
                try:
                    answers = _send_probe(run, item)
                except NotJudged as exc:  # --max-users reached on a live target: the rest is left alone
                    result.not_probed += [NotProbed(p.rule.id, exc.why) for p in the_plan.probes[i - 1:]]
                    break
                result.answers[item.rule.id] = answers
                result.sent += sum(answers.values())
    finally:
        session.close()
        if session.run is not None:
            result.created = list(dict.fromkeys(session.run.created))
            result.left_behind = list(session.run.left_behind)
    return result


def _send_probe(run, item: Probe) -> Counter:
    answers: Counter = Counter()
    for request in item.requests:
        try:
            with run.recording(item.rule):
                response = run.send_prepared(request)  # an answer lost on the way: read back, replayed
        except NotPrepared as exc:
            answers[f"not sent: {exc}"] += 1
            continue
        answers[f"{response.status} {response.error_type or ''}".strip()] += 1
    return answers
