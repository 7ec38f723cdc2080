"""The qsconform command: run, sweep, spec-diff, schema.

Exit codes (also in README.md):
  0  no rule failed (advisories, unsupported, skipped, inconclusive and unsent rules do not fail a run)
  1  some rule failed (or, with --strict, some rule is advisory)
  2  bad usage or configuration (a clear message, no traceback)
  3  the target is unreachable
  4  internal error of the suite
  130 interrupted (users this run created are still deleted)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qsconform.conformance import interrupt

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
SUITE_DIR = Path(__file__).resolve().parent / "suite"


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 too; keep its one-line usage error
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default="moto", help="moto (default: started on loopback), reference, aws, or a base URL")
    p.add_argument("--region", default=None, help="AWS region (default: AWS_REGION or the configured region, else us-east-1)")
    p.add_argument("--account-id", default=None, help="12-digit account id (default: the emulator's; required for aws)")
    p.add_argument("--namespace", default="default", help="QuickSight namespace (default: default)")
    p.add_argument("--live", action="store_true", help="allow a non-loopback target, such as real AWS")
    p.add_argument("--aws-profile", default=None, help="credentials profile (default: the standard AWS chain)")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="qsconform", description="Conformance suite for QuickSight RegisterUser and UpdateUser.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    run = sub.add_parser("run", help="run the conformance suite against a target",
                         description="Run the suite; arguments after -- go to pytest.")
    _add_target_options(run)
    run.add_argument("--profile", default="default", choices=["quick", "default", "thorough"],
                     help="examples per rule and shrinking time: quick (about 15 s locally), default (about a minute), thorough (nightly)")
    run.add_argument("--examples", type=int, default=None,
                     help="random examples per rule, instead of the profile's (0: the boundary examples alone)")
    run.add_argument("--strict", action="store_true",
                     help="advisories (deviations from what only an inference expects, level SHOULD) fail the run too")
    run.add_argument("--seed", type=int, default=None, help="seed that regenerates every request of a run")
    run.add_argument("--report-dir", default=None, help="report directory (default reports/<target>-<timestamp>)")
    run.add_argument("--alluredir", default=None, help="also write allure-pytest results here")
    run.add_argument("--max-users", type=int, default=20, help="on live targets, create at most this many users")
    run.add_argument("--iam-arn", action="append", default=[], help="an IAM user/role ARN the run may register (repeatable)")
    run.add_argument("--custom-permissions-name", default=None, help="an existing custom permissions profile")
    run.add_argument("--fault", action="append", default=[], help="with --target reference: switch on a named fault")
    run.add_argument("--reference-option", action="append", default=[], metavar="NAME=VALUE",
                     help="with --target reference: a variant option, e.g. constraint_error=ValidationException")
    run.add_argument("--spec-dir", default=None, help="spec directory (default: the installed spec)")
    run.add_argument("--baseline", default=None, help="accepted failures: exit 0 unless a failure is new")
    run.add_argument("--write-baseline", default=None, help="record this run's failures as a baseline")
    run.add_argument("--record", default=None, help="store every request and answer as a normalised cassette")
    run.add_argument("-n", "--numprocesses", default=None, help="parallel workers (pytest-xdist), e.g. auto or 4")
    run.add_argument("--shard", default=None, help="i/N: run only the i-th of N deterministic shards of the rules")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="-- then extra pytest arguments")

    sweep = sub.add_parser("sweep", help="delete users left behind by earlier runs (only those under --prefix)")
    _add_target_options(sweep)
    sweep.add_argument("--prefix", required=True, help="user-name prefix of the runs to clean up, e.g. qsc-1a2b3c4d-")

    sub.add_parser("compare", add_help=False,
                   help="replay a cassette against a target (--recording), or compare two targets (--reference)")
    diff = sub.add_parser("spec-diff", help="compare the spec with the QuickSight model in the installed botocore",
                          add_help=False)
    diff.add_argument("args", nargs=argparse.REMAINDER)

    merge = sub.add_parser("merge", help="merge the compliance.json of CI shards into one report")
    merge.add_argument("reports", nargs="+", help="compliance.json files or the directories holding them")
    merge.add_argument("--report-dir", required=True, help="where the merged report goes")

    schema = sub.add_parser("schema", help="print an operation's request contract as JSON Schema")
    schema.add_argument("operation")
    schema.add_argument("--reading", choices=["strict", "lenient"], default="strict")
    schema.add_argument("--spec-dir", default=None)
    return parser


def _pytest_args(ns: argparse.Namespace) -> list[str]:
    # --assert=plain: the suite's verdicts are pytest.fail calls, not asserts, and rewriting the modules
    # pytest would rewrite cost a third of a short run's time.
    args = [str(SUITE_DIR), "-p", "qsconform.conformance.plugin", "-v", "--tb=short", "-p", "no:cacheprovider", "--assert=plain",
            "--target", ns.target, "--namespace", ns.namespace, "--profile", ns.profile,
            "--max-users", str(ns.max_users)]
    for flag, value in (("--region", ns.region), ("--account-id", ns.account_id), ("--seed", ns.seed),
                        ("--examples", ns.examples),
                        ("--report-dir", ns.report_dir), ("--alluredir", ns.alluredir),
                        ("--custom-permissions-name", ns.custom_permissions_name),
                        ("--aws-profile", ns.aws_profile), ("--spec-dir", ns.spec_dir),
                        ("-n", ns.numprocesses), ("--shard", ns.shard), ("--baseline", ns.baseline),
                        ("--write-baseline", ns.write_baseline), ("--record", ns.record)):
        if value is not None:
            args += [flag, str(value)]
    for arn in ns.iam_arn:
        args += ["--iam-arn", arn]
    for fault in ns.fault:
        args += ["--fault", fault]
    for option in ns.reference_option:
        args += ["--reference-option", option]
    if ns.live:
        args.append("--live")
    if ns.strict:
        args.append("--strict-verdicts")
    extra = ns.pytest_args[1:] if ns.pytest_args[:1] == ["--"] else ns.pytest_args
    return args + extra


class _ExitCapture:
    """Reads the exit code the conformance plugin chose (unreachable, bad configuration)."""

    code: int | None = None

    def pytest_unconfigure(self, config):
        self.code = getattr(config, "_qsconform_exit", None)


def cmd_run(ns: argparse.Namespace) -> int:
    import importlib.util

    import pytest

    if ns.numprocesses is not None and importlib.util.find_spec("xdist") is None:
        print("qsconform: -n needs pytest-xdist, which is not installed: python3 -m pip install pytest-xdist",
              file=sys.stderr)
        return EXIT_USAGE
    interrupt.install()
    capture = _ExitCapture()
    code = int(pytest.main(_pytest_args(ns), plugins=[capture]))
    if capture.code is not None:
        return capture.code
    return {0: EXIT_OK, 1: EXIT_FAILED, 2: EXIT_INTERRUPTED, 3: EXIT_INTERNAL, 4: EXIT_USAGE}.get(code, _no_tests(code))


def _no_tests(code: int) -> int:
    if code == 5:
        print("qsconform: no rule was selected (check the -k/-m arguments after --)", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_INTERNAL


def cmd_sweep(ns: argparse.Namespace) -> int:
    from qsconform.conformance import targets
    from qsconform.spec.model import default_spec
    from qsconform.conformance.sweep import sweep
    from qsconform.conformance.transport import Transport

    try:
        with targets.open_target(ns.target, region=ns.region, account_id=ns.account_id,
                                 profile=ns.aws_profile, allow_live=ns.live) as target:
            targets.probe(target)
            deleted = sweep(target, Transport(target, default_spec()), ns.prefix, namespace=ns.namespace)
    except targets.TargetUnreachable as exc:
        print(f"qsconform: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (targets.TargetError, targets.LiveTargetRefused) as exc:
        print(f"qsconform: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for name in deleted:
        print(f"deleted {name}")
    print(f"sweep: deleted {len(deleted)} user(s) under {ns.prefix!r}")
    return EXIT_OK


def cmd_merge(ns: argparse.Namespace) -> int:
    from qsconform.conformance.render.common import fails_run
    from qsconform.conformance.report import summary_lines, write_reports
    from qsconform.conformance.results import merge_documents

    documents = []
    for given in ns.reports:
        path = Path(given) / "compliance.json" if Path(given).is_dir() else Path(given)
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"qsconform: cannot read {path}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        document = merge_documents(documents)
    except ValueError as exc:
        print(f"qsconform: {exc}", file=sys.stderr)
        return EXIT_USAGE
    write_reports(document, Path(ns.report_dir))
    for line in summary_lines(document, Path(ns.report_dir)):
        print(line)
    return EXIT_FAILED if fails_run(document) else EXIT_OK


def cmd_schema(ns: argparse.Namespace) -> int:
    from qsconform.spec.oracle import contract_schema
    from qsconform.spec.model import SpecError, default_spec, load_spec

    try:
        spec = load_spec(ns.spec_dir) if ns.spec_dir else default_spec()
    except SpecError as exc:
        print(f"qsconform: invalid spec: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if ns.operation not in spec.operations:
        print(f"qsconform: unknown operation {ns.operation!r} (known: {', '.join(spec.operations)})", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(contract_schema(spec[ns.operation], ns.reading), indent=2, ensure_ascii=False))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["spec-diff"]:
        from qsconform.spec import diff as spec_diff
        return spec_diff.main(argv[1:])
    if argv[:1] == ["compare"]:
        from qsconform.conformance import compare
        return compare.main(argv[1:])
    ns = build_parser().parse_args(argv)
    try:
        return {"run": cmd_run, "sweep": cmd_sweep, "merge": cmd_merge, "schema": cmd_schema}[ns.command](ns)
    except KeyboardInterrupt:
        print("qsconform: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into head and the like
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
