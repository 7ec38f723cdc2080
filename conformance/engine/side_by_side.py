"""Rules judged side by side: while pytest waits on one rule, the next ones are already being judged.

The unit of concurrency is the rule (its own examples depend on each other; rules do not): `SideBySide` hands
the session's rules to `concurrency` threads, each judging one rule as a serial run does, and each test waits for
its rule's verdict. What keeps the verdicts those of a serial run: docs/architecture.md, "Rules judged side by side".
"""
from __future__ import annotations

import ast
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from qsconform.conformance.engine.rule_runner import RuleRunner
from qsconform.spec.model import Rule

# Rules in flight at once when --concurrency is not given: one where the target shares the run's interpreter
# lock, fewer on a live account, paced by its rate limit (docs/speed.md, "Concurrency").
DEFAULT = {"embedded": 1, "remote": 8, "live": 2}


def default_concurrency(target) -> int:
    if target.live:
        return DEFAULT["live"]
    return DEFAULT["embedded"] if target.server_log is not None else DEFAULT["remote"]


_parse_lock = threading.Lock()


def _parse_one_at_a_time() -> None:
    """CPython before 3.13 can fail ast.parse run in two threads at once ("SystemError: AST constructor
    recursion depth mismatch", python/cpython#106905), and Hypothesis parses source to describe its lambdas
    and filters while it draws. Every ast.parse of the process is made to take a lock; idempotent."""
    if sys.version_info >= (3, 13) or getattr(ast.parse, "one_at_a_time", False):
        return
    parse = ast.parse

    def locked(*args, **kwargs):
        with _parse_lock:
            return parse(*args, **kwargs)

    setattr(locked, "one_at_a_time", True)
    ast.parse = locked


def _preparation_order(preparation, request) -> int:
    """Asked in this order, requests naming one user make the target toggle least: those assuming it absent
    and registering nothing (0), those assuming it present (1), then registrations, each needing it absent
    again (2)."""
    assumes = preparation.assumes(request)
    if assumes is None:
        return 0
    if assumes[0] == "present":
        return 1
    return 2 if request.expected.is_success else 0


class SideBySide:
    """Schedules a run's rules over its RuleRunner: `start(rules)` hands them to `concurrency` threads, each judging
    one rule as a serial run does; `judge(rule)` waits for a rule started so, or judges it here and now."""

    def __init__(self, runner: RuleRunner, concurrency: int):
        self.runner, self.exchanger = runner, runner.exchanger
        self.wanted = concurrency  # rules at once once started (--concurrency, or the target's default)
        self.concurrency = 1  # rules judged at once: `wanted` once started
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future] = {}

    def start(self, rules: list[Rule]) -> int:
        """Start judging these rules side by side, in this order, as many at once as wanted (nothing when one);
        returns how many at once."""
        if self.wanted <= 1 or not rules:
            return self.wanted
        _parse_one_at_a_time()
        self.concurrency = self.wanted
        self.exchanger.side_by_side = True
        self._pool = ThreadPoolExecutor(max_workers=self.wanted, thread_name_prefix="qsconform-rule")
        try:
            self._submit(rules)
        except BaseException:  # Ctrl-C while the chains are computed: the rules started must not run on
            self.close()
            raise
        return self.wanted

    def _submit(self, rules: list[Rule]) -> None:
        pool, runner, preparation = self._pool, self.runner, self.exchanger.preparation
        assert pool is not None, "start() made it"
        # A lifecycle rule is the longest chain of round trips (its programs' steps, in order): started first,
        # it runs beside everything else instead of making the run's tail.
        for rule in rules:
            if rule.kind == "lifecycle":
                self._futures[rule.id] = pool.submit(runner.judge, rule)
        # Boundary examples that need their user prepared must go one after another: sent first, one chain per
        # user, so that the rules sharing them find their answers cached instead of waiting on the user's name.
        chains: dict[str, list] = {}
        seen: set = set()
        for rule in rules:
            for request in runner.examples_for(rule) if rule.kind != "lifecycle" else ():
                name, key = preparation.name_of(request), self.exchanger.cache_key(request)
                if name is not None and _preparation_order(preparation, request) > 0 and key not in seen:
                    seen.add(key)
                    chains.setdefault(name, []).append(request)
        for chain in sorted(chains.values(), key=len, reverse=True):
            pool.submit(self._prefetch, sorted(chain, key=lambda r: _preparation_order(preparation, r)))
        for rule in rules:
            if rule.kind != "lifecycle":
                self._futures[rule.id] = pool.submit(runner.judge, rule)

    def _prefetch(self, requests) -> None:
        for request in requests:
            self.exchanger.prefetch(request)

    def judge(self, rule: Rule) -> None:
        """The rule's verdict in the run's results: waited for when it is judged side by side (what judging it
        raised, a bug or an interrupt, is raised here), else judged now."""
        if rule.id in self._futures:
            self._futures[rule.id].result()
        else:
            self.runner.judge(rule)

    def close(self) -> None:
        """Judge nothing more: rules not started are dropped, those being judged end at their next request
        (Exchanger.stop); returns once every thread is done, so that cleanup sees every user the run made."""
        self.exchanger.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
