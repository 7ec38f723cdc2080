"""`qsconform probe`: learn what a target answers where no source says, and record it.

For every rule whose fate is unknown (the suite never sends its violations) and every rule that holds
at OBSERVED on a single published observation, a probe sends a small deterministic set of requests
breaking that rule alone (its boundary cases, then a few drawn with a fixed seed: the same set every
time) and records each exchange in a cassette, labelled with the rule. `qsconform observe` turns the
cassette into observations the suite then judges by (spec/observations.py).

A probe keeps every promise of a run (conformance/engine/session.py): it registers only users under its own
prefix (IAM identities only from --iam-arn on a live target), deletes them all on every way out (Ctrl-C
included), and never records a credential. On a live target it plans its registrations as a run does
(conformance/engine/budget.py): one READER user that its updates act on, and the rest of --max-users shared out
among the rules whose requests may register one (a request of unknown fate may be accepted): a rule whose
share is spent sends no more that could. What it says it registered is what the target accepted.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from qsconform.conformance.compare.draw import draw_requests
from qsconform.conformance.engine import interrupt
from qsconform.conformance.engine import budget
from qsconform.conformance.engine.preparation import NotPrepared
from qsconform.conformance.engine.rule_state import NotJudged
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.engine.session import RunSession
from qsconform.conformance.judging.checks import user_name_of
from qsconform.spec.loader import probing_spec
from qsconform.spec.model import InputRule, Rule, Spec
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


def probing_rules(spec: Spec) -> list[Rule]:
    """The rules a probe sends requests for, as the probing spec has them (those of unknown fate sent)."""
    rules = probed_rules(spec)
    probing = probing_spec(spec, [r.id for r in rules if not r.sent and not r.not_probed])
    return [probing.rule(r.id) for r in rules if not r.not_probed]


def shares(spec: Spec, the_budget: budget.Plan, the_plan: "Plan") -> dict[str, int]:
    """Per probed rule of the creating operation, the registrations the target may accept before the rule sends
    no more that could (a live target): the plan's spare, shared out; None of it on a loopback target."""
    if not the_budget.live:
        return {}
    creating = [p.rule.id for p in the_plan.probes if p.rule.operation == spec.setup_operation]
    each, more = divmod(the_budget.spare, len(creating)) if creating else (0, 0)
    return {rule_id: each + (i < more) for i, rule_id in enumerate(creating)}


def probed_rules(spec: Spec) -> list[InputRule]:
    """The rules a probe asks about: those whose fate is unknown, and those one published observation holds."""
    out = []
    for rule in spec.rules:
        if not isinstance(rule, InputRule):
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


def dry_run_config(config: RunConfig, spec: Spec) -> strategies.StrategyConfig:
    """The strategies' configuration of a run or probe that opens no target (--dry-run); on a live target, the
    one it has before the plan names the users it prepares (budget.live_config)."""
    live = is_live(config)
    out = strategies.StrategyConfig(account_id=config.account_id or "111122223333", namespace=config.namespace,
                                    user_prefix=config.prefix, iam_arns=config.iam_arns,
                                    synthetic_iam_arns=not live, live_safe=live,
                                    custom_permissions_name=config.custom_permissions_name)
    return budget.live_config(spec, out) if live else out


def is_live(config: RunConfig) -> bool:
    """Whether a target is a live one, as far as can be told without opening it: --live, or aws."""
    return config.live or config.target.strip().lower() == "aws"


def dry_run(config: RunConfig, spec: Spec) -> tuple[budget.Plan, "Plan"]:
    """What a probe would register and send, without opening the target."""
    from dataclasses import replace

    strategy_config = dry_run_config(config, spec)
    the_budget = budget.plan_run(spec, strategy_config, probing_rules(spec), live=is_live(config),
                                 max_users=config.max_users, random_examples=0, programs=0)
    if the_budget.live:
        strategy_config = replace(strategy_config, update_user_names=the_budget.prepared)
    return the_budget, plan(spec, strategy_config)


# -- sending --------------------------------------------------------------------------------------

@dataclass
class ProbeResult:
    answers: dict[str, Counter] = field(default_factory=dict)  # rule id -> Counter of answers ("400 X", "201")
    not_probed: list[NotProbed] = field(default_factory=list)
    registered: Counter = field(default_factory=Counter)  # users the target registered, by role
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
            run = session.start(probing_rules(spec))
            the_plan = plan(spec, run.strategy_config)
            share = shares(spec, run.plan, the_plan)
            result.not_probed += the_plan.not_probed
            for i, item in enumerate(the_plan.probes, 1):
                progress(f"[{i}/{len(the_plan.probes)}] {item.rule.id}")
                try:
                    answers = _send_probe(run, item, share.get(item.rule.id))
                except NotJudged as exc:  # --max-users reached on a live target: the rest is left alone
                    result.not_probed += [NotProbed(p.rule.id, exc.why) for p in the_plan.probes[i - 1:]]
                    break
                result.answers[item.rule.id] = answers
                result.sent += sum(n for answer, n in answers.items() if not answer.startswith("not sent"))
    finally:
        session.close()
        if session.run is not None:
            result.registered = Counter(session.run.exchanger.spending.by_role)
            result.left_behind = list(session.run.left_behind)
    return result


def _send_probe(run, item: Probe, share: int | None) -> Counter:
    """Send a rule's requests; on a live target, those that may register a user only while the rule's share lasts."""
    answers: Counter = Counter()
    accepted = 0
    for request in item.requests:
        creates = request.operation == run.spec.setup_operation
        if creates and share is not None and accepted >= share:
            answers[f"not sent: its share of --max-users ({share}) is spent"] += 1
            continue
        try:
            with run.runner.cassette.judging(item.rule.id):
                response = run.exchanger.send_prepared(request)  # an answer lost on the way: read back, replayed
        except NotPrepared as exc:
            answers[f"not sent: {exc}"] += 1
            continue
        accepted += creates and 200 <= response.status < 300
        answers[f"{response.status} {response.error_type or ''}".strip()] += 1
    return answers
