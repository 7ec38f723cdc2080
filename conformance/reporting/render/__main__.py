"""Render a compliance.json again: python -m qsconform.conformance.reporting.render REPORT_DIR_OR_JSON [--baseline FILE] [--out DIR]

Handy for a compliance.json downloaded from a CI artifact. --sample renders a synthetic document.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qsconform.conformance.reporting.render import write_all


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qsconform.conformance.reporting.render", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", help="compliance.json, or the report directory holding it")
    parser.add_argument("--baseline", help="a baseline file to compare the run with")
    parser.add_argument("--out", help="where to write (default: next to compliance.json)")
    parser.add_argument("--sample", action="store_true", help="render the synthetic sample document instead")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.sample:
        from qsconform.conformance.reporting.render.sample import sample_document

        doc, default_out = sample_document(), Path("sample-report")
    elif ns.source:
        path = Path(ns.source)
        path = path / "compliance.json" if path.is_dir() else path
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read a compliance document ({exc})", file=sys.stderr)
            return 2
        default_out = path.parent
    else:
        parser.error("give compliance.json (or its directory), or --sample")
    outcome = None
    if ns.baseline:
        from qsconform.conformance.judging.baseline import BaselineError, compare, load_baseline

        try:
            outcome = compare(doc, load_baseline(ns.baseline))
        except BaselineError as exc:
            print(exc, file=sys.stderr)
            return 2
    for written in write_all(doc, Path(ns.out) if ns.out else default_out, outcome):
        print(written)
    return outcome.exit_code if outcome else 0


if __name__ == "__main__":
    sys.exit(main())
