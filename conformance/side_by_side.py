"""Rules judged side by side: while pytest waits on one rule, the next ones are already being judged.

The unit of concurrency is the rule (its own examples depend on each other; rules do not): `JudgedAhead` hands
the session's rules to `concurrency` threads, each judging one rule as a serial run does, and each test waits for
its rule's verdict. What keeps the verdicts those of a serial run: docs/architecture.md, "Rules judged side by side".
"""
from __future__ import annotations

import ast
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor

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

    locked.one_at_a_time = True
    ast.parse = locked


def _preparation_order(run, request) -> int:
    """Asked in this order, requests naming one user make the target toggle least: those assuming it absent
    and registering nothing (0), those assuming it present (1), then registrations, each needing it absent
    again (2)."""
    assumes = run.preparation.assumes(request)
    if assumes is None:
        return 0
    if assumes[0] == "present":
        return 1
    return 2 if request.expected.is_success else 0


class JudgedAhead:
    """The rules of a session being judged by a pool of threads; `wait(rule)` for one's verdict."""

    def __init__(self, run, rules: list[Rule], concurrency: int):
        self.run = run
        _parse_one_at_a_time()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="qsconform-rule")
        self._futures: dict[str, Future] = {}
        try:
            self._start(rules)
        except BaseException:  # Ctrl-C while the chains are computed: the rules started must not run on
            self.close()
            raise

    def _start(self, rules: list[Rule]) -> None:
        run = self.run
        # A lifecycle rule is the longest chain of round trips (its programs' steps, in order): started first,
        # it runs beside everything else instead of making the run's tail.
        lifecycle = [rule for rule in rules if rule.kind == "lifecycle"]
        for rule in lifecycle:
            self._futures[rule.id] = self._pool.submit(self._judge, rule)
        # Boundary examples that need their user prepared must go one after another: sent first, one chain per
        # user, so that the rules sharing them find their answers cached instead of waiting on the user's name.
        chains: dict[str, list] = {}
        seen: set = set()
        for rule in rules:
            for request in run.examples_for(rule) if rule.kind != "lifecycle" else ():
                name, key = run.preparation.name_of(request), run.cache_key(request)
                if name is not None and _preparation_order(run, request) > 0 and key not in seen:
                    seen.add(key)
                    chains.setdefault(name, []).append(request)
        for chain in sorted(chains.values(), key=len, reverse=True):
            self._pool.submit(self._prefetch, sorted(chain, key=lambda r: _preparation_order(run, r)))
        for rule in rules:
            if rule.kind != "lifecycle":
                self._futures[rule.id] = self._pool.submit(self._judge, rule)

    def _judge(self, rule: Rule) -> None:
        with self.run.recording(rule):
            self.run.check_rule(rule)

    def _prefetch(self, requests) -> None:
        for request in requests:
            self.run.prefetch(request)

    def holds(self, rule: Rule) -> bool:
        return rule.id in self._futures

    def wait(self, rule: Rule) -> None:
        """Until the rule is judged; what judging it raised (a bug, an interrupt) is raised here."""
        self._futures[rule.id].result()

    def close(self) -> None:
        """Judge nothing more: rules not started are dropped, those being judged end at their next request
        (Run.stop); returns once every thread is done, so that cleanup sees every user the run made."""
        self.run.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
