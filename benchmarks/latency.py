"""What the network's round trips cost a run: the quick profile against a reference server answering at once
and one answering 50 ms late, side by side.

    python3 benchmarks/latency.py [--latency-ms 50] [--profile quick] [--seed 5] [--rounds 1] [--cli]

Both runs have the same seed, so they send the same requests; the rounds alternate the two. By default each
run is the run itself (conformance/session.RunSession: open the reference target, probe it, judge every rule
the suite sends in the spec's order, delete its users), in a fresh interpreter of its own and timed from
the session's start, as tests/reference_runs.py runs it; with --cli it is a whole
`qsconform run --target reference --reference-option latency_ms=N` process (pytest, the reports) timed from
outside. Prints each run's wall time and whether their verdicts agree, and a last line
`latency_ratio=X.XX` (median time with the latency / without). A run that sends one request at a time pays
every round trip: about requests sent x latency.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from scaling import one_run


def verdicts(document: dict) -> dict[str, str]:
    return {rule["id"]: rule["status"] for rule in document["rules"]}


def in_process(profile: str, seed: int, latency_ms: float) -> tuple[float, dict]:
    """One run through RunSession (in a worker process): its seconds and its verdicts, as a small document."""
    from qsconform.conformance.run import RunConfig
    from qsconform.conformance.session import RunSession
    from qsconform.spec.model import default_spec

    spec = default_spec()
    config = RunConfig(target="reference", profile=profile, seed=seed)
    started = time.perf_counter()
    with RunSession(config, spec, server_options={"latency_ms": latency_ms}) as run:
        for rule in spec.rules:
            if rule.sent:
                run.check_rule(rule)
    seconds = time.perf_counter() - started
    return seconds, {"rules": [{"id": rid, "status": r.status, "examples": r.tried}
                               for rid, r in run.results.rules.items()]}


def one(args, latency: float) -> tuple[float, dict]:
    if args.cli:
        seconds, _, document = one_run("reference", ["--profile", args.profile, "--seed", str(args.seed),
                                                     "--reference-option", f"latency_ms={latency:g}"])
        return seconds, document
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:  # a fresh interpreter: no warm caches
        return pool.submit(in_process, args.profile, args.seed, latency).result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the reference server's latency_ms")
    parser.add_argument("--profile", default="quick", choices=["quick", "default", "thorough"])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cli", action="store_true", help="time whole `qsconform run` processes instead")
    args = parser.parse_args()
    times: dict[float, list[float]] = {0.0: [], args.latency_ms: []}
    documents: dict[float, dict] = {}
    for round_ in range(1, args.rounds + 1):
        for latency in times:
            seconds, documents[latency] = one(args, latency)
            times[latency].append(seconds)
            print(f"round {round_}: latency_ms={latency:<4g} {seconds:6.1f} s  "
                  f"({sum(r['examples'] for r in documents[latency]['rules'])} examples judged)", flush=True)
    plain, slow = (statistics.median(t) for t in times.values())
    differing = sorted(rule for rule, status in verdicts(documents[0.0]).items()
                       if verdicts(documents[args.latency_ms]).get(rule) != status)
    how = "whole `qsconform run` processes" if args.cli else "RunSession in a fresh interpreter"
    print(f"profile {args.profile}, seed {args.seed}, {how}, medians of {args.rounds} round(s)")
    print(f"no added latency:      {plain:6.1f} s")
    print(f"{args.latency_ms:g} ms per answer:   {slow:6.1f} s")
    print(f"verdicts differ: {', '.join(differing) or 'none'}")
    print(f"latency_ratio={slow / plain:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
