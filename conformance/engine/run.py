"""One conformance run: its configuration, and its parts built whole before anything is sent.

A Run is the composition of four parts, each with one job: the Exchanger (conformance/engine/exchanger.py) asks the
target, keeps its answers and the users the run made; the VerdictRecorder (conformance/engine/verdicts.py) records each
example into the run's Results; the RuleRunner (conformance/engine/rule_runner.py) judges a rule with Hypothesis; the
SideBySide scheduler (conformance/engine/side_by_side.py) judges rules over the runner, several at once. RunSession
(conformance/engine/session.py) opens the target, makes the Run, and closes it on every way out.
"""
from __future__ import annotations

import secrets
from dataclasses import replace

from qsconform import strategies
from qsconform.conformance.engine import budget
from qsconform.conformance.engine.exchanger import Exchanger
from qsconform.conformance.engine.ledger import UserLedger
from qsconform.conformance.engine.operations import find_unsupported
from qsconform.conformance.engine.rule_runner import RuleRunner, unsent_message
from qsconform.conformance.engine.rule_state import RuleState
from qsconform.conformance.engine.run_config import PROFILES, RunConfig
from qsconform.conformance.engine.side_by_side import SideBySide, default_concurrency
from qsconform.conformance.engine.verdicts import VerdictRecorder
from qsconform.conformance.judging.results import Results
from qsconform.spec.model import Rule, Spec


def strategy_config_of(config: RunConfig, spec: Spec, target) -> strategies.StrategyConfig:
    """What the strategies draw for this run and target: its users under the run's prefix; on a live target every
    user gets the cheapest role, but for the rules about the role."""
    cfg = strategies.StrategyConfig(
        account_id=target.account_id, namespace=config.namespace, user_prefix=config.prefix,
        iam_arns=config.iam_arns, synthetic_iam_arns=not target.live, live_safe=target.live,
        custom_permissions_name=config.custom_permissions_name, partition=target.partition,
    )
    return budget.live_config(spec, cfg) if target.live else cfg


def plan_of(config: RunConfig, spec: Spec, target, strategy_config: strategies.StrategyConfig,
            rules) -> budget.Plan:
    """The registrations of a run judging `rules` (conformance/engine/budget.py). On a live target the plan rules;
    loopback runs send what they always sent."""
    profile = PROFILES[config.profile]
    examples = config.max_examples
    return budget.plan_run(
        spec, strategy_config, rules, live=target.live, max_users=config.max_users,
        random_examples=profile["max_examples"] if examples is None else examples,
        programs=profile["stateful_examples"] if examples is None else examples)


class Run:
    """A run of `config` judging `rules` (None: every rule of the spec) against an opened `target` through its
    `transport`; `cassette` (under --record) labels each exchange with its rule; `baseline` (under --baseline)
    holds the deviations a team has accepted."""

    def __init__(self, config: RunConfig, spec: Spec, target, transport, *, rules=None, cassette=None,
                 baseline=None):
        self.config, self.spec, self.target, self.transport = config, spec, target, transport
        self.seed = config.seed if config.seed is not None else secrets.randbelow(2**32)
        self.results = Results(spec)
        self.redactor = target.redactor  # knows the credentials in use, refreshed ones included
        rules = list(spec.rules if rules is None else rules)
        strategy_config = strategy_config_of(config, spec, target)
        self.plan = plan_of(config, spec, target, strategy_config, rules)
        if self.plan.live:  # UpdateUser's examples name the users the plan prepares
            strategy_config = replace(strategy_config, update_user_names=self.plan.prepared)
        self.strategy_config = strategy_config
        state = RuleState()
        self.exchanger = Exchanger(spec, target, transport, prefix=config.prefix, namespace=config.namespace,
                                   max_users=config.max_users, plan=self.plan, state=state)
        self.recorder = VerdictRecorder(spec, self.results, self.exchanger, state, plan=self.plan, config=config,
                                        seed=self.seed, redactor=self.redactor, baseline=baseline,
                                        selected=frozenset(r.id for r in rules))
        self.runner = RuleRunner(spec, self.exchanger, self.recorder, state, strategy_config=strategy_config,
                                 plan=self.plan, profile=PROFILES[config.profile], seed=self.seed,
                                 max_examples=config.max_examples, shrink_seconds=config.shrink_seconds,
                                 cassette=cassette)
        self.scheduler = SideBySide(self.runner, config.concurrency or default_concurrency(target))

    def settle_unsent(self) -> None:
        """Rules the suite never sends requests for: no source says what the real API answers."""
        for rule in self.spec.rules:
            if not rule.sent:
                self.results.set(rule.id, "unsent", unsent_message(rule))

    def register_planned(self) -> None:
        """Send the plan's registrations (a live target) before any rule starts."""
        self.exchanger.register_planned()

    def find_unsupported(self) -> None:
        """The operations the target does not implement: their rules unsupported (conformance/engine/operations.py)."""
        find_unsupported(self.exchanger, self.strategy_config, self.results)

    def judge_rule(self, rule: Rule) -> None:
        """Judge a rule, or wait for it when it is judged side by side; its verdict lands in `results`."""
        self.scheduler.judge(rule)

    def check_rule(self, rule: Rule) -> None:
        """Judge a rule here and now, whatever the scheduler does."""
        self.runner.check_rule(rule)

    def cleanup(self) -> list[str]:
        """Delete what the run created (Exchanger.cleanup); the names left behind."""
        return self.exchanger.cleanup(workers=self.scheduler.concurrency)

    @property
    def selected(self) -> frozenset[str] | None:
        """The ids of the rules the run judges: a lifecycle program judges in passing only these."""
        return self.recorder.selected

    @selected.setter
    def selected(self, ids: frozenset[str] | None) -> None:
        self.recorder.selected = ids

    # What the report reads of the run's exchanges (conformance/reporting/report.py).
    @property
    def ledger(self) -> UserLedger:
        return self.exchanger.ledger

    @property
    def left_behind(self) -> list[str]:
        return self.exchanger.left_behind

    def server_errors_retried(self) -> dict:
        return self.exchanger.server_errors_retried()

    def answers_lost(self) -> dict:
        return self.exchanger.answers_lost()
