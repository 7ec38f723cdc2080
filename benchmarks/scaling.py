"""How a run's cost grows: wall time and peak memory at 1x, 4x and 16x the default examples per rule.

    python3 benchmarks/scaling.py [--target reference] [--rules RULES] [--base 30]

Each size is a separate `qsconform run` process (so peak memory is its own),
over a fixed selection of rules so that the whole benchmark takes minutes. The
reference target is served by a process of its own, started afresh for each size:
the users a run registers are the target's memory, not the suite's.
Prints seconds and peak RSS per size, then the growth ratios: time should
grow at most linearly with the examples (ratio <= size ratio), memory stay flat.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RULES = "response.echo or response.success-status or UserRole.enum or Email.required or Tags.max_items"


def one_run(target: str, options: list[str], pytest_args: list[str] = ()) -> tuple[float, float, dict]:
    """Seconds, peak RSS in MiB, and compliance.json, of one `qsconform run` in a child process."""
    with tempfile.TemporaryDirectory() as report_dir:
        script = (
            "import resource, sys\n"
            "from qsconform.conformance.tools.cli import main\n"
            "code = main(sys.argv[1:])\n"
            "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
            "sys.exit(code)\n")
        args = [sys.executable, "-c", script, "run", "--target", target, *options,
                "--report-dir", report_dir, "--", "-q", *pytest_args]
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise SystemExit(f"run failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
        peak_kb = int(next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("PEAK_RSS_KB")))
        document = json.loads((Path(report_dir) / "compliance.json").read_text())
    return seconds, peak_kb / 1024, document


def judged(document: dict) -> int:
    return sum(rule["examples"] for rule in document["rules"])


@contextlib.contextmanager
def served(target: str):
    """The target to name in `qsconform run`: the reference target in a process of its own, or `target` as given."""
    if target != "reference":
        yield target
        return
    server = subprocess.Popen([sys.executable, "-m", "qsconform.conformance.reference", "--port", "0"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        found = re.search(r"http://[\d.]+:\d+", server.stdout.readline())
        if not found:
            raise SystemExit("the reference server did not start")
        yield found.group(0)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="reference")
    parser.add_argument("--rules", default=DEFAULT_RULES, help="pytest -k expression selecting the rules")
    parser.add_argument("--base", type=int, default=30, help="examples per rule at 1x (the default profile's)")
    args = parser.parse_args()
    rows = []
    for factor in (1, 4, 16):
        with served(args.target) as target:
            seconds, peak, document = one_run(target, ["--examples", str(args.base * factor), "--seed", "1"],
                                              ["-k", args.rules])
        rows.append((factor, seconds, peak, judged(document)))
        print(f"{factor:>3}x  {args.base * factor:>4} examples/rule  {judged(document):>6} judged  {seconds:7.1f} s  {peak:7.1f} MiB peak")
    (_, s1, m1, j1), (_, s4, m4, j4), (_, s16, m16, j16) = rows
    print(f"time_ratio_4x={s4 / s1:.2f} time_ratio_16x={s16 / s1:.2f} (linear: 4 and 16; a run's fixed start-up makes them smaller)")
    print(f"per_example_ratio_16x={(s16 / j16) / (s1 / j1):.2f} (cost per judged example at 16x vs 1x; <= 1 is linear or better)")
    print(f"memory_ratio_16x={m16 / m1:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
