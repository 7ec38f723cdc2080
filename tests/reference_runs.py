"""Conformance runs against the reference target, in-process: what `qsconform run --target reference` does,
without starting an interpreter and a pytest session per run.

`judge_run(job)` opens a RunSession (conformance/engine/session.py: the same one the pytest plugin opens), judges
the rules asked for in the spec's order (the order of the plugin's tests) and closes it. What comes back
is plain data: the status of every rule, the exit code the run would give (Results.exit_code; an error of
the suite itself fails it too) and the server errors retried. Each job is one test of tests/test_verdicts.py,
so that the test command's workers (pytest-xdist, tests/conftest.py) share them out with every other test;
a job leaves nothing behind in the worker's process (`judge_run` puts back what it changes). The runs
through the real command line stay in tests/test_verdicts.py (the faithful server, one seed) and
tests/test_run_e2e.py.

Besides the command line's profiles, a job may name UNSHRUNK: the quick profile with no time to shrink a
failing example (it is reported as drawn). A verdict is recorded when an example first deviates, before any
shrinking, so what it proves is what the quick profile catches; shrinking can only add a deviation found
on the way (an advisory made a failure), which a job with the quick profile itself sees.
"""
from __future__ import annotations

import logging
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field

from qsconform.spec.loader import default_spec

SPEC = default_spec()
UNSHRUNK = "quick-unshrunk"


@dataclass(frozen=True)
class Job:
    """One run: a name to report it by, the reference server's faults and variant options, and what to judge.

    `select`: words a rule id must contain one of (case-insensitive, as pytest's `-k "a or b"` selects);
    None: every rule the suite sends, as a plain `qsconform run`.
    """

    name: str
    seed: int = 5
    profile: str = "quick"
    faults: tuple[str, ...] = ()
    options: tuple[tuple[str, object], ...] = ()
    select: tuple[str, ...] | None = None
    strict: bool = False
    concurrency: int = 1  # rules judged side by side (conformance/engine/side_by_side.py), as `qsconform run` does
    target: str = "reference"  # or moto (started in the worker; faults and options are the reference's only)
    max_examples: int | None = None  # the profile's random examples per rule (0: the boundary examples only)


@dataclass
class Outcome:
    job: Job
    statuses: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    exit_code: int = 0
    server_errors_retried: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # rule id -> traceback of an error of the suite
    seconds: float = 0.0

    def having(self, *wanted: str) -> dict[str, str]:
        """Rule id -> message of the rules with one of these statuses."""
        return {rid: self.messages.get(rid, "") for rid, status in self.statuses.items() if status in wanted}

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses.values() if s == status)


def prefix_for(seed: int) -> str:
    """One user prefix per seed. Each run has its own reference server, so the run-unique prefix a shared
    target needs is not needed here; and the boundary examples, which depend on the prefix and not on the
    seed, are computed once per process and seed (strategies/context.py keeps them per configuration)
    instead of once per run: most of a short run's time."""
    return f"qsc-{seed:08x}-"


def chosen(job: Job) -> list:
    """The rules a job judges, in the spec's order, among those the suite sends."""
    rules = [r for r in SPEC.rules if r.sent]
    if job.select is None:
        return rules
    words = [w.lower() for w in job.select]
    picked = [r for r in rules if any(w in r.id.lower() for w in words)]
    assert picked, f"{job.name}: no rule the suite sends matches {job.select}"
    return picked


def judge_run(job: Job) -> Outcome:
    from qsconform.conformance.engine.run_config import RunConfig
    from qsconform.conformance.engine.session import RunSession
    from qsconform.conformance.tools import exits

    started = time.perf_counter()
    outcome = Outcome(job)
    options = dict(job.options, **({"faults": tuple(job.faults)} if job.faults else {}))
    with _quiet_reference():
        unshrunk = job.profile == UNSHRUNK
        config = RunConfig(target=job.target, profile="quick" if unshrunk else job.profile, seed=job.seed,
                           shrink_seconds=0.0 if unshrunk else None, faults=tuple(job.faults),
                           strict=job.strict, prefix=prefix_for(job.seed), concurrency=job.concurrency,
                           max_examples=job.max_examples)
        session = RunSession(config, SPEC, server_options=options if job.target == "reference" else None)
        with session as run:
            run.selected = frozenset(r.id for r in chosen(job))
            session.judge_ahead(chosen(job))
            for rule in chosen(job):
                try:
                    run.judge_rule(rule)
                except Exception:  # noqa: BLE001 - pytest would report the test as failed: so does the outcome
                    outcome.errors[rule.id] = traceback.format_exc(limit=-8)
    outcome.statuses = {rid: r.status for rid, r in run.results.rules.items()}
    outcome.messages = {rid: r.message for rid, r in run.results.rules.items()}
    outcome.server_errors_retried = run.server_errors_retried()
    outcome.exit_code = exits.FAILED if outcome.errors else run.results.exit_code(job.strict)
    outcome.seconds = time.perf_counter() - started
    return outcome


@contextmanager
def _quiet_reference():
    """The reference server logs the crashes faults cause; nobody reads them here. Its level put back after."""
    logger = logging.getLogger("qsconform.reference")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def cost(job: Job) -> float:
    """A rough measure of a job's time, to start the longest first: the rules it judges, six times as many in
    the default profile (ten times the examples, much of a run's time is fixed), two and a half times as many
    where a fault fails them and the quick profile shrinks each for its second (measured)."""
    factor = 6.0 if job.profile == "default" else 2.5 if job.faults and job.profile == "quick" else 1.0
    return len(chosen(job)) * factor
