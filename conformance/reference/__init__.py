"""The reference target: QuickSight's user operations as the docs describe them, on loopback, in memory.

An independent implementation written from the pages and the observations:
it reads the spec's member constraints and error statuses (data copied from
the docs) but none of the suite's oracle, strategies or checks, so it can
prove the suite's verdicts. Faithful by default and in its faithful variants;
lenient variants make choices the sources leave open (the suite reports them
as advisories); faults switch on one named deviation each.

    with start_reference(faults=("duplicate-accepted",)) as server:
        ...  # server.url, server.store
"""
from __future__ import annotations

from typing import Any

from qsconform.conformance.reference.faults import FAULTS, Fault
from qsconform.conformance.reference.routes import OPERATIONS
from qsconform.conformance.reference.server import ReferenceServer
from qsconform.conformance.reference.variants import VARIANTS, Pacing, Variant

__all__ = ["FAULTS", "Fault", "Pacing", "ReferenceServer", "VARIANTS", "Variant", "main", "start_reference"]


def start_reference(host: str = "127.0.0.1", port: int = 0, *, region: str = "us-east-1",
                    faults: tuple[str, ...] | list[str] = (), **variant_options: Any) -> ReferenceServer:
    """Start a reference server in a daemon thread (port 0: a free port) and return it, serving.

    variant_options: the faithful options status_in_body, constraint_error, error_header_style, error_in_body,
    error_header, extra_members, deserialisation_error, describe_lags, existence_first, and the lenient ones (see
    Variant; VARIANTS names each with the rules it makes advisory); the pacing options throttle_rate and
    latency_ms (see Pacing); and `operations`, those the server implements (names, or one comma-separated
    string; default all five: an emulator may implement some only). Unknown options, faults or a bad region
    raise ValueError.
    """
    return ReferenceServer(host, port, region=region, faults=faults, **variant_options)


def settings_problem(faults=(), options: dict | None = None) -> str | None:
    """What is wrong with faults and variant or pacing options for the reference server, in one line (the closest
    known names suggested), or None: checked before a server is started."""
    from qsconform.conformance.reference.variants import OPTION_NAMES, PACING_NAMES, unknown_names

    options = dict(options or {})
    problem = (unknown_names("fault", faults, FAULTS, "--list-faults")
               or unknown_names("reference option", options, OPTION_NAMES + PACING_NAMES + ("operations",),
                                "--list-variants"))
    if problem:
        return problem
    named = options.pop("operations", OPERATIONS)
    named = named.split(",") if isinstance(named, str) else named
    if set(o.strip() for o in named) - set(OPERATIONS):
        return f"reference option operations: {', '.join(named)} not all among {', '.join(OPERATIONS)}"
    try:
        Variant(**{k: v for k, v in options.items() if k in OPTION_NAMES})
        Pacing(**{k: v for k, v in options.items() if k in PACING_NAMES})
    except (TypeError, ValueError) as exc:
        return f"reference option: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    from qsconform.conformance.reference.command import main as command_main

    return command_main(argv)
