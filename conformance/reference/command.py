"""python -m qsconform.conformance.reference: serve the reference target until interrupted, for manual use."""
from __future__ import annotations

import argparse
import json
import threading

from qsconform.conformance.reference.faults import FAULTS
from qsconform.conformance.reference.server import ReferenceServer
from qsconform.conformance.reference.variants import OPTION_NAMES, PACING_NAMES, VARIANTS


def _option(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    names = OPTION_NAMES + PACING_NAMES
    if not sep or name not in names:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME one of {', '.join(names)}")
    try:
        return name, json.loads(value)  # true, false, "ValidationException", 50
    except ValueError:
        return name, value  # a bare word: ValidationException, prefix


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qsconform.conformance.reference",
                                description="Serve QuickSight RegisterUser, UpdateUser, DescribeUser, DeleteUser "
                                            "and ListUsers as the docs describe them, in memory.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5055, help="port to listen on (default 5055; 0: any free port)")
    p.add_argument("--region", default="us-east-1", help="the region its ARNs name (default us-east-1)")
    p.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS), metavar="NAME",
                   help="switch on a named deviation (repeatable); --list-faults names them")
    # The same name as `qsconform run --reference-option`; --variant-option, its former name, still works.
    p.add_argument("--reference-option", dest="reference_option", action="append", default=[], type=_option,
                   metavar="NAME=VALUE",
                   help=f"a variant option, faithful or lenient, or a pacing option (repeatable), as `qsconform run "
                        f"--reference-option` takes it: {', '.join(OPTION_NAMES + PACING_NAMES)}")
    p.add_argument("--variant-option", dest="reference_option", action="append", type=_option, help=argparse.SUPPRESS)
    p.add_argument("--list-faults", action="store_true", help="list the faults and the rules they break, then exit")
    p.add_argument("--list-variants", action="store_true",
                   help="list the variants, their options and the rules the lenient ones make advisory, then exit")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list_faults:
        for fault in FAULTS.values():
            print(f"{fault.name} [{fault.hook}]: {fault.description}\n    breaks {', '.join(fault.breaks)}")
            if fault.advises:
                print(f"    advises (broken only in a SHOULD part) {', '.join(fault.advises)}")
        return 0
    if args.list_variants:
        for entry in VARIANTS:
            options = " ".join(f"{k}={json.dumps(v)}" for k, v in entry.options.items()) or "(defaults)"
            kind = f"lenient, advises {', '.join(entry.advises)}" if entry.advises else "faithful"
            print(f"{entry.name}: {options}\n    {kind}")
        return 0
    try:
        server = ReferenceServer(args.host, args.port, region=args.region, faults=tuple(args.fault),
                                 **dict(args.reference_option))
    except (ValueError, OSError) as exc:
        print(f"cannot start the reference server: {exc}")
        return 2
    print(f"reference server at {server.url} ({server!r}); Ctrl-C stops it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
