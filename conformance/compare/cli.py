"""`qsconform compare`: its arguments, and the exit code of a comparison (0 same, 1 different, 2 bad usage,
3 a target unreachable)."""
from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path

from qsconform.conformance.engine import interrupt

from qsconform.conformance.cassette import CassetteError, load_cassette
from qsconform.conformance.compare.allowances import DEFAULT_ALLOWANCES, Allowance, CompareError, load_allowances
from qsconform.conformance.compare.draw import draw_requests
from qsconform.conformance.compare.live_comparison import live
from qsconform.conformance.compare.replaying import replay
from qsconform.conformance.compare.report import CompareReport
from qsconform.conformance.compare.side import fresh_prefix
from qsconform.conformance.tools import exits
from qsconform.spec.model import Spec


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump: the message says what to fix
        raise _Usage(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="qsconform compare", description=(
        "Compare a target with a cassette recorded against real AWS (--recording), or with another target "
        "live (--against). Exit 0: no difference beyond the allowed and advisory ones (those of requests sent "
        "for SHOULD rules); 1: differences; 2: bad usage; 3: a target is unreachable."))
    p.add_argument("--target", default="moto", help="moto (default), reference, aws, or a base URL")
    p.add_argument("--recording", default=None, metavar="FILE",
                   help="a cassette (qsconform run --record FILE) to replay")
    # --against, not --reference: `--target reference` names the reference server everywhere else.
    p.add_argument("--against", default=None, metavar="TARGET",
                   help="a second target (moto, reference, aws, a base URL) to compare with, live")
    p.add_argument("--reference", dest="against", default=None, help=argparse.SUPPRESS)  # its former name
    p.add_argument("--region", default=None, help="AWS region (default: the configured region, else us-east-1)")
    p.add_argument("--account-id", default=None, help="12-digit account id of --target")
    p.add_argument("--namespace", default="default", help="QuickSight namespace of drawn requests (--against)")
    p.add_argument("--live", action="store_true", help="allow non-loopback targets, such as real AWS")
    p.add_argument("--aws-profile", default=None, help="credentials profile (default: the standard AWS chain)")
    p.add_argument("--allow", default=None, help='allowance file: [{"path": "User.Active", "reason": "..."}]')
    p.add_argument("--report-dir", default=None, help="write compare.json and compare.html here")
    p.add_argument("--strict", action="store_true",
                   help="differences in requests sent for SHOULD rules (advisory) change the exit code too")
    p.add_argument("--seed", type=int, default=None, help="seed of the requests drawn for --against")
    p.add_argument("--per-rule", type=int, default=2, help="requests drawn per rule for --against (default 2)")
    p.add_argument("--max-users", type=int, default=20,
                   help="on a live target, register at most this many users (default 20)")
    p.add_argument("--rule", action="append", default=None, metavar="ID",
                   help="with --against: draw only for this rule id (repeatable); "
                        "<Operation>.valid for valid requests")
    return p


def main(argv: list[str] | None = None) -> int:
    from qsconform.conformance.wire.targets import EMBEDDED, TargetError, TargetUnreachable
    from qsconform.spec.loader import default_spec

    def fail(message: str, code: int) -> int:
        print(f"qsconform compare: error: {' '.join(str(message).split())}", file=sys.stderr)
        return code

    try:
        args = build_parser().parse_args(argv)
    except _Usage as exc:
        return fail(str(exc), exits.USAGE)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if (args.recording is None) == (args.against is None):
        return fail("give exactly one of --recording FILE and --against TARGET", exits.USAGE)
    if args.per_rule < 1:
        return fail("--per-rule must be at least 1", exits.USAGE)
    if args.max_users < 0:
        return fail("--max-users must be at least 0", exits.USAGE)
    started = time.perf_counter()
    try:
        allowances = list(DEFAULT_ALLOWANCES) + (load_allowances(args.allow) if args.allow else [])
        # Drawing compiles the oracle's schemas: a Ctrl-C there may come back as a library's own error.
        with interrupt.unwrapped():
            spec = default_spec()
            report = (_replay_command(args, allowances, spec) if args.recording is not None
                      else _live_command(args, allowances, spec))
    except (CassetteError, CompareError, TargetError) as exc:
        return fail(str(exc), exits.USAGE)
    except TargetUnreachable as exc:
        return fail(str(exc), exits.UNREACHABLE)
    report.strict = args.strict
    report.seconds = time.perf_counter() - started
    # A target the comparison started (moto, reference) is gone with its users: no sweep to suggest there.
    report.started = [label for label, name in ((report.target, args.target), (report.reference, args.against))
                      if (name or "").strip().lower() in EMBEDDED]
    if args.report_dir:
        report.write(args.report_dir)
    print(report.summary(args.report_dir and Path(args.report_dir)))
    return report.exit_code


def _open(args, name: str, account_id: str | None):
    from qsconform.conformance.wire.targets import open_target

    return open_target(name, region=args.region, account_id=account_id, profile=args.aws_profile,
                       allow_live=args.live)


def _replay_command(args, allowances: list[Allowance], spec: Spec) -> CompareReport:
    from qsconform.conformance.wire.transport import Transport

    cassette = load_cassette(args.recording)
    with _open(args, args.target, args.account_id) as target, Transport(target, spec) as transport:
        return replay(cassette, transport, target, allowances=allowances,
                      max_users=args.max_users if target.live else None)


def _live_command(args, allowances: list[Allowance], spec: Spec) -> CompareReport:
    from dataclasses import replace

    from qsconform.conformance.engine import budget
    from qsconform.conformance.wire.transport import Transport
    from qsconform.strategies.config import StrategyConfig

    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    with _open(args, args.target, args.account_id) as target, _open(args, args.against, None) as reference, \
            Transport(target, spec) as transport_x, Transport(reference, spec) as transport_ref:
        live_target = target.live or reference.live
        config = StrategyConfig(account_id=reference.account_id, namespace=args.namespace,
                                user_prefix=fresh_prefix(), synthetic_iam_arns=not live_target,
                                live_safe=live_target)
        if live_target:  # READER users, and one for every update to act on (conformance/engine/budget.py)
            config = replace(budget.live_config(spec, config),
                             update_user_names=(f"{config.user_prefix}planned-0",))
        print(f"drawing {args.per_rule} request(s) per rule with seed {seed}", file=sys.stderr)
        requests = draw_requests(spec, config, seed, per_rule=args.per_rule, rules=args.rule)
        if not requests:
            raise CompareError("no request could be drawn for the rules given (see qsconform schema, spec/)")
        return live(requests, transport_x, transport_ref, drawn_with=config, allowances=allowances,
                    max_users=args.max_users if live_target else None)
