"""Conformance runs through the live path, in-process: `--target aws --live` with AWS_ENDPOINT_URL_QUICKSIGHT at a
reference server on loopback (the target counts as a real account: the live rules and the plan of what it may
register apply, conformance/engine/budget.py), without an interpreter's start per run.

What the server registered is counted on the server's side, by wrapping its store as tests/test_live_path.py
does: a user the store keeps that it did not hold is a registration (`add`, or under a fault `replace`; a duplicate
refused is none), `replace` with another role is a role changed.
"""
from __future__ import annotations

import os
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from qsconform.conformance.reference import start_reference
from qsconform.spec.loader import default_spec

SPEC = default_spec()
ACCOUNT = "123456789012"
# One user prefix for every run: each has a server of its own, and the boundary examples (which depend on the prefix,
# not on the seed) are then computed once per process (strategies/context.py keeps them per configuration).
PREFIX = "qsc-0b0d9e7a-"


@dataclass(frozen=True)
class LiveJob:
    seed: int = 5
    profile: str = "quick"
    max_users: int = 20
    rules: tuple[str, ...] | None = None  # rule ids; None: every rule the suite sends
    faults: tuple[str, ...] = ()
    concurrency: int = 2  # the default for a live target
    iam_arns: tuple[str, ...] = ()
    max_examples: int | None = None


@dataclass
class LiveOutcome:
    statuses: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # rule id -> traceback of an error of the suite
    exit_code: int = 0
    registered: list[tuple[str, str]] = field(default_factory=list)  # (user name, role), as the server kept them
    role_changes: list[tuple[str, str, str]] = field(default_factory=list)  # (user name, role before, after)
    left: list[str] = field(default_factory=list)  # the server's users after the run
    cost: dict = field(default_factory=dict)  # compliance.json's cost
    summary: dict = field(default_factory=dict)  # compliance.json's summary (counts of statuses)
    examples: dict[str, int] = field(default_factory=dict)  # rule id -> examples judged
    plan: object = None

    def judged(self) -> set[str]:
        return {rid for rid, s in self.statuses.items() if s in ("passed", "failed", "advisory")}

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses.values() if s == status)

    @property
    def roles(self) -> Counter:
        return Counter(role for _, role in self.registered)


@contextmanager
def counted(server):
    """The server's store wrapped to count registrations and role changes; yields (registered, role_changes)."""
    store = server.store
    registered, changes = [], []
    add, replace = store.add, store.replace

    def counting_add(user):
        kept = add(user)  # raises for a name that exists: no registration
        registered.append((user.user_name, user.role))
        return kept

    def counting_replace(user):
        try:
            before = store.get(user.account, user.namespace, user.user_name).role
        except Exception:  # noqa: BLE001 - a user replaced that was not there
            before = None
        kept = replace(user)
        if before is None:  # a fault's store view registers by replacing (duplicate-accepted)
            registered.append((user.user_name, user.role))
        elif before != user.role:
            changes.append((user.user_name, before, user.role))
        return kept

    store.add, store.replace = counting_add, counting_replace
    try:
        yield registered, changes
    finally:
        store.add, store.replace = add, replace


@contextmanager
def live_environment(url: str):
    """The environment of someone whose SDK configuration points QuickSight at `url`; put back after."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for name in saved:
        del os.environ[name]
    os.environ.update(AWS_ENDPOINT_URL_QUICKSIGHT=url, AWS_ACCESS_KEY_ID="AKIAQSCLIVEINPROCESS1",
                      AWS_SECRET_ACCESS_KEY="qsconform/in-process/secret", AWS_CONFIG_FILE=os.devnull,
                      AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(saved)


def chosen(job: LiveJob) -> list:
    rules = [r for r in SPEC.rules if r.sent]
    return rules if job.rules is None else [r for r in rules if r.id in job.rules]


def judge_live(job: LiveJob) -> LiveOutcome:
    """One run of `job` through the live path, as `qsconform run --target aws --live` judges it (the plugin's
    session, its rules side by side at the live default); what the server registered, counted on its side."""
    from qsconform.conformance.engine.run_config import RunConfig
    from qsconform.conformance.engine.session import RunSession
    from qsconform.conformance.reporting.report import compliance_document
    from qsconform.conformance.tools import exits

    outcome = LiveOutcome()
    rules = chosen(job)
    with start_reference(faults=job.faults) as server, live_environment(server.url), \
            counted(server) as (registered, changes):
        config = RunConfig(target="aws", live=True, region="us-east-1", account_id=ACCOUNT, profile=job.profile,
                           seed=job.seed, max_users=job.max_users, concurrency=job.concurrency,
                           iam_arns=job.iam_arns, max_examples=job.max_examples, prefix=PREFIX)
        session = RunSession(config, SPEC)
        with session as run:
            session.judge_ahead(rules)
            for rule in rules:
                try:
                    run.judge_rule(rule)
                except Exception:  # noqa: BLE001 - pytest would report the test as failed: so does the outcome
                    outcome.errors[rule.id] = traceback.format_exc(limit=-8)
        outcome.left = server.store.names(ACCOUNT)
        outcome.registered, outcome.role_changes = list(registered), list(changes)
    outcome.statuses = {rid: r.status for rid, r in run.results.rules.items()}
    outcome.messages = {rid: r.message for rid, r in run.results.rules.items()}
    outcome.exit_code = exits.FAILED if outcome.errors else run.results.exit_code()
    document = compliance_document(run)
    outcome.cost, outcome.summary = document["cost"], document["summary"]
    outcome.examples = {rid: r.tried for rid, r in run.results.rules.items()}
    outcome.plan = run.plan
    return outcome
