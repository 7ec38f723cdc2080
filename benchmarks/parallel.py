"""What pytest-xdist workers buy: one default-profile run serially and with -n 2, side by side.

    python3 benchmarks/parallel.py [--target reference] [--workers 2] [--profile default]

Both runs use the same seed against the same kind of target (a fresh reference server in a
process of its own for each); prints their wall times, whether their verdicts agree, and a
last line `speedup=X.XX` (serial time / parallel time).
"""
from __future__ import annotations

import argparse
import sys

from scaling import one_run, served


def verdicts(document: dict) -> dict[str, str]:
    return {rule["id"]: rule["status"] for rule in document["rules"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="reference")
    parser.add_argument("--workers", default="2", help="pytest-xdist -n value (the machine has 2 cores)")
    parser.add_argument("--profile", default="default", choices=["quick", "default", "thorough"])
    args = parser.parse_args()
    common = ["--profile", args.profile, "--seed", "1"]
    with served(args.target) as target:
        serial, _, serial_doc = one_run(target, common)
    with served(args.target) as target:
        parallel, _, parallel_doc = one_run(target, [*common, "-n", args.workers])
    differing = sorted(rule for rule, status in verdicts(serial_doc).items()
                       if verdicts(parallel_doc).get(rule) != status)
    print(f"serial:       {serial:6.1f} s  ({len(serial_doc['rules'])} rules)")
    print(f"-n {args.workers}:  {parallel:11.1f} s  ({len(parallel_doc['rules'])} rules)")
    print(f"verdicts differ: {', '.join(differing) or 'none'}")
    print(f"speedup={serial / parallel:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
