"""What the network's round trips cost a run: the quick profile against a reference server answering at once
and one answering 50 ms late, side by side.

    python3 benchmarks/latency.py [--latency-ms 50] [--profile quick] [--seed 5] [--rounds 1]
                                  [--concurrency N] [--serial] [--cli]

The reference server runs in a process of its own (`python -m qsconform.conformance.reference`), as an
emulator in another container would, and the run targets its URL, so the run's default concurrency for
a URL applies (conformance/engine/side_by_side.py; --concurrency to choose another). Both runs have the same seed,
so they send the same requests; the rounds alternate the two. By default each run is the run itself
(conformance/session.RunSession: open the target, probe it, judge every rule the suite sends, side by side as
`qsconform run` does, delete its users), in a fresh interpreter of its own and timed from the session's
start; with --cli it is a whole `qsconform run` process (pytest, the reports) timed from outside. --serial
adds a run at the latency one rule at a time (--concurrency 1), to show what concurrency saves. Prints each
run's wall time and whether their verdicts agree, and a last line `latency_ratio=X.XX` (median time with the
latency / without).
"""
from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from scaling import one_run


def verdicts(document: dict) -> dict[str, str]:
    return {rule["id"]: rule["status"] for rule in document["rules"]}


def in_process(url: str, profile: str, seed: int, concurrency: int | None) -> tuple[float, dict]:
    """One run through RunSession (in a worker process): its seconds and its verdicts, as a small document."""
    from qsconform.conformance.engine.run_config import RunConfig
    from qsconform.conformance.engine.session import RunSession
    from qsconform.spec.loader import default_spec

    spec = default_spec()
    config = RunConfig(target=url, profile=profile, seed=seed, concurrency=concurrency)
    session = RunSession(config, spec)
    started = time.perf_counter()
    try:
        run = session.start()
        rules = [rule for rule in spec.rules if rule.sent]
        session.judge_ahead(rules)
        for rule in rules:
            run.judge_rule(rule)
    finally:
        session.close()
    seconds = time.perf_counter() - started
    return seconds, {"rules": [{"id": rid, "status": r.status, "examples": r.tried}
                               for rid, r in run.results.rules.items()]}


@contextlib.contextmanager
def reference_server(latency_ms: float):
    """The reference server in a process of its own, answering `latency_ms` late; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "qsconform.conformance.reference", "--port", str(port),
                               "--reference-option", f"latency_ms={latency_ms:g}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the reference server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def one(args, latency: float, concurrency: int | None) -> tuple[float, dict]:
    with reference_server(latency) as url:
        if args.cli:
            options = ["--profile", args.profile, "--seed", str(args.seed)]
            options += ["--concurrency", str(concurrency)] if concurrency else []
            seconds, _, document = one_run(url, options)
            return seconds, document
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:  # a fresh interpreter: no warm caches
            return pool.submit(in_process, url, args.profile, args.seed, concurrency).result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the reference server's latency_ms")
    parser.add_argument("--profile", default="quick", choices=["quick", "default", "thorough"])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, help="rules side by side (default: the run's own for a URL)")
    parser.add_argument("--serial", action="store_true", help="also time a run at the latency one rule at a time")
    parser.add_argument("--cli", action="store_true", help="time whole `qsconform run` processes instead")
    args = parser.parse_args()
    times: dict[float, list[float]] = {0.0: [], args.latency_ms: []}
    documents: dict[float, dict] = {}
    for round_ in range(1, args.rounds + 1):
        for latency in times:
            seconds, documents[latency] = one(args, latency, args.concurrency)
            times[latency].append(seconds)
            print(f"round {round_}: latency_ms={latency:<4g} {seconds:6.1f} s  "
                  f"({sum(r['examples'] for r in documents[latency]['rules'])} examples judged)", flush=True)
    serial = None
    if args.serial:
        serial, document = one(args, args.latency_ms, 1)
        documents["serial"] = document
    plain, slow = (statistics.median(t) for t in times.values())
    differing = sorted({rule for document in documents.values() for rule, status in verdicts(document).items()
                        if verdicts(documents[0.0]).get(rule) != status})
    how = "whole `qsconform run` processes" if args.cli else "RunSession in a fresh interpreter"
    print(f"profile {args.profile}, seed {args.seed}, {how}, concurrency {args.concurrency or 'default'}, "
          f"medians of {args.rounds} round(s)")
    print(f"no added latency:      {plain:6.1f} s")
    print(f"{args.latency_ms:g} ms per answer:   {slow:6.1f} s")
    if serial is not None:
        print(f"{args.latency_ms:g} ms, one rule at a time: {serial:6.1f} s")
    print(f"verdicts differ: {', '.join(differing) or 'none'}")
    print(f"latency_ratio={slow / plain:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
