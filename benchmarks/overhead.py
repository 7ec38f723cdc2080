"""Harness overhead: the suite's request path against a plain requests.Session loop, same requests, one process.

    python3 benchmarks/overhead.py [--target reference|moto|URL] [-n 400] [--rounds 3]

Both loops send the same pre-generated requests to the same server, interleaved
round by round so that machine noise hits both alike. The suite's path is what
a rule test does per example (prepare the target's state, send through the
transport, evaluate the rule's check, record the verdict); the plain loop sends
the same bytes, SigV4-signed with the same signer (emulators route on the
signature), and reads the answer. Generating the requests is measured apart, per request, and compared
with the plain send (`generation_ratio=X.XX`: generating one request / one plain send); like the send paths,
it is warmed first (a first draw builds what a process builds once, such as its character tables, and a run
draws thousands of requests after it) and measured in every round, the rounds interleaved. Figures are ratios;
the last line is `overhead_ratio=X.XX` (suite send path / plain send).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace

import requests  # noqa: E402
from hypothesis import HealthCheck, find, settings  # noqa: E402

from qsconform import strategies  # noqa: E402
from qsconform.conformance.engine.run import Run  # noqa: E402
from qsconform.conformance.engine.run_config import RunConfig  # noqa: E402
from qsconform.conformance.engine.verdicts import RuleFailure  # noqa: E402
from qsconform.conformance.wire.targets import open_target  # noqa: E402
from qsconform.conformance.wire.transport import Transport  # noqa: E402
from qsconform.spec.loader import default_spec  # noqa: E402


def draw(strategy, count: int) -> list:
    """`count` distinct examples of a strategy, as Hypothesis generates them (distinct, so that the
    suite's cache of answers cannot spare it a send the plain loop makes)."""
    seen: dict = {}

    def enough(request) -> bool:
        seen.setdefault((request.operation, request.body_bytes()), request)
        return len(seen) >= count

    # No deadline: on a busy machine one slow example would end the benchmark (hypothesis.errors.Flaky).
    find(strategy, enough, settings=settings(max_examples=count * 5, database=None, phases=["generate"], deadline=None,
                                             suppress_health_check=list(HealthCheck)))
    return list(seen.values())[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="reference")
    parser.add_argument("-n", type=int, default=400, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    spec = default_spec()
    with open_target(args.target) as target:
        run = Run(RunConfig(target=args.target, seed=1), spec, target, Transport(target, spec))
        op = spec["UpdateUser"]
        rule = op.rule("UpdateUser.response.echo")
        # UpdateUser of one registered user: every request is valid and needs no setup after the first.
        strategy = strategies.valid_requests(op.name, run.strategy_config, spec=spec)
        requests_ = draw(strategy, args.n)

        def generate() -> float:
            t = time.perf_counter()
            drawn = draw(strategy, args.n)
            return (time.perf_counter() - t) / len(drawn)
        name = f"{run.config.prefix}bench"
        requests_ = [replace(r, path_params={**r.path_params, "UserName": name}) for r in requests_]
        run._prepare(op, requests_[0])
        urls = [run.transport.url_for(r) for r in requests_]
        bodies = [r.body_bytes() for r in requests_]
        plain_session = requests.Session()
        plain_session.trust_env = False  # as the transport does: no proxy or netrc lookups per request

        def plain() -> float:
            t = time.perf_counter()
            for url, body in zip(urls, bodies):
                response = plain_session.put(url, data=body, headers={"Content-Type": "application/json"},
                                             auth=target.auth)
                assert response.status_code < 500, response.status_code
            return time.perf_counter() - t

        def suite() -> float:
            run._cache.clear()  # every request really sent, as on a first run
            t = time.perf_counter()
            for request in requests_:
                try:
                    run.runner.exercise(rule, request)
                except RuleFailure:  # a deviation (moto's echo) is judged and recorded like a pass: same path
                    pass
            return time.perf_counter() - t

        plain(), suite()  # warm both: connections, imports, caches
        plain_times, suite_times, generation_times = [], [], []
        for _ in range(args.rounds):
            plain_times.append(plain())
            suite_times.append(suite())
            generation_times.append(generate())
        run.cleanup()

    plain_s, suite_s = statistics.median(plain_times), statistics.median(suite_times)
    generation = statistics.median(generation_times)
    per_plain = plain_s / len(requests_)
    print(f"target {args.target}, {len(requests_)} UpdateUser requests x {args.rounds} rounds (medians)")
    print(f"plain requests.Session: {len(requests_) / plain_s:8.1f} req/s")
    print(f"suite request path:     {len(requests_) / suite_s:8.1f} req/s")
    print(f"generation: {generation * 1000:.2f} ms per request = {generation / per_plain:.2f}x a plain send")
    print(f"generation_ratio={generation / per_plain:.2f}")
    print(f"overhead_ratio={suite_s / plain_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
