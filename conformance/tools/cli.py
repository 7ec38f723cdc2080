"""The qsconform command: run, sweep, compare, merge, matrix, rules, explain, repro, spec-diff, schema, and
probe, observe, observations (learning what the real API does: conformance/tools/probe.py, observe.py).

Exit codes: conformance/tools/exits.py (also in README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from qsconform.conformance.engine import interrupt

from qsconform.conformance.tools import exits
from qsconform.conformance.tools.options import RUN_OPTIONS, TARGET_OPTIONS, add_to_argparse, namespace_value, run_config
from qsconform.spec.model import CATEGORIES, LEVELS

if TYPE_CHECKING:
    from qsconform.conformance.plugin import PluginState

SUITE_DIR = Path(__file__).resolve().parents[1] / "suite"
# The run options a probe takes: what it may create, and the reference server's settings.
PROBE_FLAGS = ("--max-users", "--iam-arn", "--custom-permissions-name", "--fault", "--reference-option", "--spec-dir")


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, as every usage error: what is wrong, not the whole usage
        self.exit(exits.USAGE, f"qsconform: {' '.join(message.split())} (`{self.prog} --help` shows the options)\n")


SPEC_DIR_HELP = "spec directory (default: the installed spec)"
RUN_EPILOG = f"""examples:
  qsconform run                                 # moto, started for you
  qsconform run --profile quick                 # about 15 s (default: 1 min)
  qsconform run --target http://127.0.0.1:4566  # any QuickSight REST server
  qsconform run --target reference --fault duplicate-accepted   # made wrong
  qsconform run --baseline baselines/moto.json  # exit 0 unless a new failure
  qsconform run --rule RegisterUser.UserName.pattern --seed 1234
  qsconform run --target aws --live --region us-east-1   # a real account

exit codes:
  {exits.OK}    no rule failed (advisories and rules not judged do not fail a run)
  {exits.FAILED}    some rule failed (--strict: or is advisory; --baseline: a new one),
       or -x/--maxfail stopped the run early
  {exits.USAGE}    bad usage or configuration, in one line (a live target without --live)
  {exits.UNREACHABLE}    the target is unreachable, or not a QuickSight endpoint
  {exits.INTERNAL}    internal error of the suite
  {exits.INTERRUPTED}  interrupted (what the run created is still deleted)

Each failure's report gives the command that reruns it and its stand-alone
reproduction (qsconform repro RULE --report DIR).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="qsconform", description="Conformance suite for QuickSight RegisterUser and UpdateUser.")
    parser.add_argument("--version", action="version", version=f"qsconform {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    run = sub.add_parser("run", help="run the conformance suite against a target",
                         usage="qsconform run [options] [-- pytest arguments]",
                         description="Judge a target rule by rule: send the spec's valid and invalid requests,\n"
                                     "check every answer, and write the reports (compliance.html, .json, .md,\n"
                                     "junit.xml, repro.sh). Arguments after -- go to pytest.",
                         epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = add_to_argparse(run, TARGET_OPTIONS + RUN_OPTIONS, grouped=True)
    groups["reports"].add_argument("--alluredir", default=None, metavar="DIR",
                                   help="also write allure-pytest results here (npx allure@3 awesome DIR renders them)")
    groups["reports"].add_argument("-v", "--verbose", action="store_true",
                                   help="show every rule's verdict and each failure's evidence as it is judged "
                                        "(pytest's own output)")
    groups["examples"].add_argument("-n", "--numprocesses", default=None, metavar="N",
                                    help="parallel workers (pytest-xdist), e.g. auto or 4")
    groups["live safety"].add_argument("--dry-run", action="store_true",
                                       help="print the plan (requests by operation, users registered by role, rules skipped "
                                            "and why, an estimated duration) and send nothing")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="-- then extra pytest arguments")

    sweep = sub.add_parser("sweep", help="delete users left behind by earlier runs (only those under --prefix)")
    add_to_argparse(sweep, TARGET_OPTIONS)
    sweep.add_argument("--prefix", required=True, help="user-name prefix of the runs to clean up, e.g. qsc-1a2b3c4d-")
    sweep.add_argument("--spec-dir", default=None, metavar="DIR", help=SPEC_DIR_HELP)

    sub.add_parser("compare", add_help=False,
                   help="replay a cassette against a target (--recording), or compare two targets (--against)")
    diff = sub.add_parser("spec-diff", help="compare the spec with the QuickSight model in the installed botocore",
                          add_help=False)
    diff.add_argument("args", nargs=argparse.REMAINDER)

    merge = sub.add_parser("merge", help="merge the compliance.json of CI shards into one report")
    merge.add_argument("reports", nargs="+", help="compliance.json files or the directories holding them")
    merge.add_argument("--report-dir", required=True, help="where the merged report goes")

    matrix = sub.add_parser("matrix", help="several reports side by side, rule by rule: matrix.html and matrix.md",
                            description="One column per report (at least one; two or more to compare): the rules "
                                        "whose status differs first, then each report's score, then every rule.")
    matrix.add_argument("reports", nargs="+", help="compliance.json files or the directories holding them")
    matrix.add_argument("--output", required=True, help="the directory that receives matrix.html and matrix.md")

    rules = sub.add_parser("rules", help="list the rules of the spec (id, level, category, whether it is sent)")
    rules.add_argument("--operation", default=None, help="only this operation's rules (RegisterUser, UpdateUser)")
    rules.add_argument("--level", default=None, choices=LEVELS, type=str.upper, help="only the rules of this level")
    rules.add_argument("--category", default=None, choices=CATEGORIES, help="only the rules of this category")
    rules.add_argument("--spec-dir", default=None, metavar="DIR", help=SPEC_DIR_HELP)
    rules.add_argument("--observations", action="append", default=[], metavar="FILE",
                       help="as the spec reads with these observations files applied")

    explain = sub.add_parser("explain", help="show a rule: where it is defined, how it is generated and judged")
    explain.add_argument("rule_id", help="a rule id, as `qsconform rules` lists them")
    explain.add_argument("--spec-dir", default=None, metavar="DIR", help=SPEC_DIR_HELP)
    explain.add_argument("--observations", action="append", default=[], metavar="FILE",
                         help="as the spec reads with these observations files applied")

    probe = sub.add_parser("probe", help="send each rule of unknown fate a few requests breaking it, and record the "
                                         "answers in a cassette (for `qsconform observe`)")
    add_to_argparse(probe, TARGET_OPTIONS + tuple(o for o in RUN_OPTIONS if o.flag in PROBE_FLAGS))
    probe.add_argument("--record", help="the cassette to write (required unless --dry-run)")
    probe.add_argument("--dry-run", action="store_true",
                       help="print the requests the probe would send and the users it would create; send nothing")

    observe = sub.add_parser("observe", help="read probe (or run) cassettes into an observations file")
    observe.add_argument("cassettes", nargs="+", help="cassette files (`qsconform probe --record`)")
    observe.add_argument("--output", required=True, help="the observations file to write")
    observe.add_argument("--spec-dir", default=None, metavar="DIR", help=SPEC_DIR_HELP)

    observations = sub.add_parser("observations", help="what observations files change in the spec, and what "
                                                       "they contradict (exit 1 if they contradict a rule)")
    observations.add_argument("files", nargs="+", help="observations files (`qsconform observe --output`)")
    observations.add_argument("--spec-dir", default=None, metavar="DIR", help=SPEC_DIR_HELP)

    repro = sub.add_parser("repro", help="replay a failure's stand-alone reproduction from a report, and judge it again",
                           description="Send a failed or advisory rule's steps from a report (setup, the requests a "
                                       "lifecycle program sent before, the judged request, cleanup) to a target, and "
                                       "judge the answer with the rule's own check. Exit 1: the deviation is "
                                       "reproduced; 0: the target keeps the rule; 2: bad usage; 3: unreachable.")
    repro.add_argument("rule_id", help="the rule, as the report names it")
    repro.add_argument("--report", required=True, metavar="DIR",
                       help="the report directory (or its compliance.json) holding the rule's evidence")
    repro.add_argument("--target", default=None,
                       help="a base URL, or moto / reference to start a fresh one (default: the report's target; a "
                            "reference server gets the report's --fault and --reference-option)")
    repro.add_argument("--region", default=None, help="AWS region (default: the report's)")
    repro.add_argument("--live", action="store_true", help="allow a target where real users are created")
    repro.add_argument("--aws-profile", default=None, help="credentials profile (default: the standard AWS chain)")

    schema = sub.add_parser("schema", help="print an operation's request contract as JSON Schema")
    schema.add_argument("operation", help="RegisterUser or UpdateUser")
    schema.add_argument("--reading", choices=["strict", "lenient"], default="strict",
                        help="strict: what is valid; lenient: what every reading of the sources refuses "
                             "(default strict)")
    schema.add_argument("--spec-dir", default=None, metavar="DIR", help=SPEC_DIR_HELP)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qsconform")
    except PackageNotFoundError:  # a checkout that was not installed
        return "unknown"


class _Usage(Exception):
    """A usage or configuration error: one line, exit 2 (or `code`)."""

    def __init__(self, message: str, code: int = exits.USAGE):
        super().__init__(message)
        self.code = code


@contextmanager
def _target_errors():
    """A target that refuses (a live one without --live, bad configuration) or does not answer: one line."""
    from qsconform.conformance.wire import targets

    try:
        yield
    except targets.TargetUnreachable as exc:
        raise _Usage(str(exc), exits.UNREACHABLE) from None
    except (targets.TargetError, targets.LiveTargetRefused) as exc:
        raise _Usage(str(exc)) from None


def spec_of(ns: argparse.Namespace):
    from qsconform.spec.loader import default_spec, load_spec
    from qsconform.spec.model import SpecError

    observations = getattr(ns, "observations", None) or ()
    try:
        return load_spec(ns.spec_dir, observations) if ns.spec_dir or observations else default_spec()
    except SpecError as exc:
        raise _Usage(f"invalid spec: {exc}") from None


def _preflight(ns: argparse.Namespace) -> int | None:
    """What can be wrong with a run before pytest starts, said in one line: the spec, the baseline, the
    shard, a target that refuses --live or does not answer. None when all is well. A target the run
    starts itself (moto, reference) is checked when it starts."""
    from qsconform.conformance.tools.options import parse_shard
    from qsconform.conformance.wire import targets

    try:
        misplaced = [o.flag for o in TARGET_OPTIONS + RUN_OPTIONS
                     if any(w.split("=")[0] == o.in_pytest[0] for w in _extra_args(ns))]
        if misplaced:  # they are read before pytest starts: after --, pytest's plugin would ignore them
            raise _Usage(f"{', '.join(misplaced)} after --: qsconform run's own options go before -- "
                         "(after it, pytest's)")
        spec = spec_of(ns)
        from qsconform.conformance.tools.explain import unknown_rule

        problem = next(filter(None, (unknown_rule(spec, rule_id) for rule_id in ns.rule)), None)
        if problem:
            raise _Usage(problem)
        _check_target_options(ns)
        if ns.shard:
            parse_shard(ns.shard)
        if ns.baseline:
            from qsconform.conformance.judging.baseline import BaselineError, load_baseline

            try:
                load_baseline(ns.baseline)
            except BaselineError as exc:
                raise _Usage(str(exc)) from None
    except (_Usage, ValueError) as exc:
        print(f"qsconform: {exc}", file=sys.stderr)
        return exits.USAGE
    if (ns.target or "").strip().lower() in targets.EMBEDDED:
        return None
    try:
        with targets.open_target(ns.target, region=ns.region, account_id=ns.account_id, profile=ns.aws_profile,
                                 allow_live=ns.live) as target:
            targets.ensure_reachable(target)
    except targets.TargetUnreachable as exc:
        print(f"qsconform: {exc}", file=sys.stderr)
        return exits.UNREACHABLE
    except targets.TargetError as exc:
        print(f"qsconform: {exc}", file=sys.stderr)
        return exits.USAGE
    return None


def _check_target_options(ns: argparse.Namespace) -> None:
    """Options that only one target takes (the reference server's faults and options), checked against the target
    chosen and, for the reference server, by name and value before anything starts."""
    from qsconform.conformance.engine.session import parse_reference_options
    from qsconform.conformance.reference import settings_problem

    given = [flag for flag, value in (("--fault", ns.fault), ("--reference-option", ns.reference_option)) if value]
    if not given:
        return
    if (ns.target or "").strip().lower() != "reference":
        raise _Usage(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to --target reference only, "
                     f"not {ns.target!r}")
    try:
        options = parse_reference_options(ns.reference_option)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    problem = settings_problem(tuple(ns.fault), options)
    if problem:
        raise _Usage(problem)


def _pytest_args(ns: argparse.Namespace) -> list[str]:
    """pytest's own arguments of a run (its options reach the plugin as RunSettings, in a plugin object)."""
    # --assert=plain: the verdicts are pytest.fail calls, not asserts, so rewriting modules buys nothing
    # and costs time (docs/speed.md, "Small choices, measured").
    # Compact by default: pytest's progress line, then qsconform's summary (conformance/reporting/console.py); the
    # evidence is in the reports. -v gives pytest's own account of every rule.
    shown = ["-v", "--tb=short"] if ns.verbose else ["-qq", "--tb=no", "--no-header", "--no-summary",
                                                      "--show-capture=no", "-p", "no:warnings"]
    args = [str(SUITE_DIR), "-p", "qsconform.conformance.plugin", *shown, "-p", "no:cacheprovider",
            "--assert=plain"]
    for flag, value in (("--alluredir", ns.alluredir), ("-n", ns.numprocesses)):
        if value is not None:
            args += [flag, str(value)]
    return args + _extra_args(ns)


def _extra_args(ns: argparse.Namespace) -> list[str]:
    """The pytest arguments after --."""
    return ns.pytest_args[1:] if ns.pytest_args[:1] == ["--"] else ns.pytest_args


# What pytest-xdist sets in a worker's environment. A run started by a test under `pytest -n` inherits them,
# and plugins that read them take the run's own session for a worker's: pytest-benchmark, where installed,
# then warns on stderr. PYTEST_XDIST_AUTO_NUM_WORKERS is the user's setting and stays.
_XDIST_WORKER_VARIABLES = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


@contextmanager
def _not_an_xdist_worker():
    inherited = {name: os.environ.pop(name) for name in _XDIST_WORKER_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(inherited)


def cmd_run(ns: argparse.Namespace) -> int:
    import importlib.util

    import pytest

    if ns.dry_run:
        return _dry_run(ns)
    if ns.numprocesses is not None and importlib.util.find_spec("xdist") is None:
        print("qsconform: -n needs pytest-xdist, which is not installed: python3 -m pip install pytest-xdist",
              file=sys.stderr)
        return exits.USAGE
    problem = _preflight(ns)
    if problem is not None:
        return problem
    from qsconform.conformance.plugin import CommandLineRun
    from qsconform.conformance.tools.options import run_settings

    the_run = CommandLineRun(run_settings(namespace_value(ns)))
    with interrupt.installed(), _not_an_xdist_worker():
        code = int(pytest.main(_pytest_args(ns), plugins=[the_run]))
    return _run_ended(ns, the_run.state, code)


def _run_ended(ns: argparse.Namespace, state: PluginState | None, code: int) -> int:
    """Print how the run ended (its one-line error, or its summary: the last thing printed) and give its exit code:
    the document's (results.exit_code_of), else what pytest's own code says. `state` is what the plugin handed
    back (None: pytest stopped before it began, on a bad argument of its own)."""
    from qsconform.conformance.judging.results import exit_code_of

    if state is not None and state.message:
        print(state.message, file=sys.stderr)
    if state is not None and state.exit_code is not None:
        return state.exit_code
    if state is not None and state.document is not None:
        from qsconform.conformance.reporting.console import summary_lines

        for line in summary_lines(state.document, state.report_dir, interrupted=interrupt.pending(),
                                  progress=not ns.verbose, alluredir=ns.alluredir):
            print(line)
        derived = exit_code_of(state.document)
        if interrupt.pending():  # whatever the run ended with (a library may turn Ctrl-C into an error of its own)
            return exits.INTERRUPTED
        if derived == exits.OK and code == 1:  # pytest saw a test fail that no verdict explains: a bug of ours
            print("qsconform: the suite itself failed on some rule (run with -v to see it)", file=sys.stderr)
            return exits.INTERNAL
        return derived
    if interrupt.pending():
        return exits.INTERRUPTED
    return {0: exits.OK, 1: exits.FAILED, 2: exits.INTERRUPTED, 3: exits.INTERNAL, 4: exits.USAGE}.get(code, _no_tests(code))


def _dry_run(ns: argparse.Namespace) -> int:
    """`run --dry-run`: the plan of the run, from the spec and the options alone; the target is not opened."""
    from dataclasses import replace

    from qsconform.conformance.engine import budget

    from qsconform.conformance.engine.rule_runner import rule_examples
    from qsconform.conformance.engine.run_config import PROFILES
    from qsconform.conformance.plugin import shard_of
    from qsconform.conformance.tools import probe as probing
    from qsconform.conformance.tools.explain import unknown_rule
    from qsconform.conformance.tools.options import parse_shard, selects

    spec = spec_of(ns)
    problem = next(filter(None, (unknown_rule(spec, rule_id) for rule_id in ns.rule)), None)
    if problem:
        raise _Usage(problem)
    try:
        shard = parse_shard(ns.shard) if ns.shard else None
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    config = run_config(namespace_value(ns))
    rules = [r for r in spec.rules if selects(r, set(ns.rule), set(ns.level), set(ns.category))
             and (shard is None or shard_of(r.id, shard[1]) == shard[0])]
    profile = PROFILES[config.profile]
    examples = (profile["max_examples"], profile["stateful_examples"]) if config.max_examples is None \
        else (config.max_examples, config.max_examples)
    strategy_config = probing.dry_run_config(config, spec)
    live = probing.is_live(config)
    plan = budget.plan_run(spec, strategy_config, rules, live=live, max_users=config.max_users,
                           random_examples=examples[0], programs=examples[1])
    if live:
        strategy_config = replace(strategy_config, update_user_names=plan.prepared)
    requests = budget.estimate_requests(
        spec, plan, rules, lambda rule: rule_examples(spec, strategy_config, plan if live else None, rule),
        random_examples=examples[0], programs=examples[1], steps=profile["stateful_steps"])
    print(f"qsconform run --dry-run: target {ns.target}{' (live)' if live else ''}, profile {config.profile}; "
          "nothing is sent")
    for line in budget.describe(spec, plan, rules, requests):
        print(line)
    if ns.pytest_args:
        print("(the pytest arguments after -- are not read by --dry-run)")
    return exits.OK


def _no_tests(code: int) -> int:
    if code == 5:
        print("qsconform: no rule was selected (check the -k/-m arguments after --)", file=sys.stderr)
        return exits.USAGE
    return exits.INTERNAL


def cmd_sweep(ns: argparse.Namespace) -> int:
    from qsconform.conformance.tools.sweep import sweep
    from qsconform.conformance.wire import targets
    from qsconform.conformance.wire.transport import Transport

    from qsconform.conformance.reporting.render.common import few, one_line, shown_name
    from qsconform.conformance.tools.sweep import SweepIncomplete

    spec = spec_of(ns)
    deleted: list[str] = []

    def told(name: str) -> None:  # as each goes: an interrupted sweep has said what it did
        deleted.append(name)
        print(f"deleted {shown_name(name)}", flush=True)

    try:
        with interrupt.installed(), _target_errors(), \
                targets.open_target(ns.target, region=ns.region, account_id=ns.account_id, profile=ns.aws_profile,
                                    allow_live=ns.live) as target:
            targets.ensure_reachable(target)
            sweep(target, Transport(target, spec), ns.prefix, namespace=ns.namespace, deleted_one=told)
    except SweepIncomplete as exc:
        print(f"sweep: deleted {len(exc.deleted)} user(s) under {shown_name(ns.prefix)} but could not delete "
              f"{len(exc.failed)}, by kind:")
        for group in exc.kinds:
            print(f"  {len(group['names'])}: {one_line(group['kind'])}: {few(group['names'])}")
        return exits.FAILED
    except KeyboardInterrupt:
        print(f"sweep: interrupted after deleting {len(deleted)} user(s); the same command deletes the rest",
              file=sys.stderr)
        return exits.INTERRUPTED
    print(f"sweep: deleted {len(deleted)} user(s) under {shown_name(ns.prefix)}")
    return exits.OK


def _report_path(given: str) -> Path:
    return Path(given) / "compliance.json" if Path(given).is_dir() else Path(given)


def _read_reports(given: list[str]) -> list[dict]:
    """The compliance documents named (files, or directories holding one); a usage error names one that is not."""
    from qsconform.conformance.reporting.render.common import one_line

    documents = []
    for name in given:
        path = _report_path(name)
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise _Usage(f"cannot read {one_line(path)}: {one_line(getattr(exc, 'strerror', None) or exc)}") from None
    return documents


def cmd_merge(ns: argparse.Namespace) -> int:
    from qsconform.conformance.judging.results import exit_code_of, merge_documents
    from qsconform.conformance.reporting.console import summary_lines
    from qsconform.conformance.reporting.report import write_reports

    documents = _read_reports(ns.reports)
    try:
        document = merge_documents(documents)
    except ValueError as exc:
        print(f"qsconform: {exc}", file=sys.stderr)
        return exits.USAGE
    write_reports(document, Path(ns.report_dir))
    for line in summary_lines(document, Path(ns.report_dir)):
        print(line)
    return exit_code_of(document)  # a merge of partial runs is partial: it never passes


def cmd_matrix(ns: argparse.Namespace) -> int:
    from qsconform.conformance.reporting.render.common import one_line
    from qsconform.conformance.reporting.render.matrix import changed, problem, write_matrix

    documents = _read_reports(ns.reports)
    for given, document in zip(ns.reports, documents):
        if problem(document):
            raise _Usage(f"{one_line(_report_path(given))} is not a compliance.json: {problem(document)}")
    try:
        written = write_matrix(documents, [str(p) for p in ns.reports], Path(ns.output))
    except OSError as exc:
        raise _Usage(f"cannot write to {one_line(ns.output)}: {one_line(exc.strerror or exc)}") from None
    print(f"matrix: {len(documents)} report(s), {len(changed(documents))} rule(s) whose status differs")
    for path in written:
        print(path)
    return exits.OK


def cmd_rules(ns: argparse.Namespace) -> int:
    from qsconform.conformance.tools.explain import matching, rule_table

    spec = spec_of(ns)
    if ns.operation is not None and ns.operation not in spec.operations:
        raise _Usage(f"unknown operation {ns.operation!r} (known: {', '.join(spec.operations)})")
    rules = matching(spec, ns.operation, ns.level, ns.category)
    for line in rule_table(rules):
        print(line)
    print(f"{len(rules)} rule(s); `qsconform explain RULE_ID` shows one")
    return exits.OK


def cmd_explain(ns: argparse.Namespace) -> int:
    from qsconform.conformance.tools.explain import explain, unknown_rule

    spec = spec_of(ns)
    problem = unknown_rule(spec, ns.rule_id)
    if problem:
        raise _Usage(problem)
    for line in explain(spec, spec.rule(ns.rule_id)):
        print(line)
    return exits.OK


def cmd_repro(ns: argparse.Namespace) -> int:
    from qsconform.conformance.engine.session import reference_options
    from qsconform.conformance.reporting import reproduction
    from qsconform.conformance.reporting.render.common import ReproError, level_text, one_line, repro_target, steps_of
    from qsconform.conformance.wire import targets
    from qsconform.conformance.wire.transport import Transport
    from qsconform.spec.loader import default_spec, load_spec
    from qsconform.spec.model import SpecError

    [doc] = _read_reports([ns.report])
    rule = next((r for r in doc.get("rules") or [] if r.get("id") == ns.rule_id), None)
    if rule is None:
        raise _Usage(f"no rule {ns.rule_id!r} in {_report_path(ns.report)}")
    if rule.get("status") not in ("failed", "advisory"):
        raise _Usage(f"{ns.rule_id} is {rule.get('status')} in that report: it has no deviation to reproduce")
    try:
        steps_of(rule)
    except ReproError as exc:
        raise _Usage(str(exc)) from None
    recorded = doc.get("target") or {}
    options = recorded.get("options") or {}
    try:  # the spec the run judged by
        spec = load_spec(options.get("--spec-dir"), options.get("--observations") or ()) \
            if options.get("--spec-dir") or options.get("--observations") else default_spec()
    except SpecError as exc:
        raise _Usage(f"invalid spec: {exc}") from None
    name: str = ns.target or (recorded["name"] if recorded.get("name") in targets.EMBEDDED else repro_target(doc))
    region = ns.region or recorded.get("region") or "us-east-1"
    server = None
    if name == "reference":
        from qsconform.conformance.engine.run_config import RunConfig

        server = reference_options(RunConfig(faults=tuple(options.get("--fault") or ())),
                                   options.get("--reference-option") or ())

    def told(step, response):
        got = f"{response.status} {response.error_type or ''}".strip()
        before = f" (the run got {step['answered']})" if step.get("answered") else ""
        print(f"  {step.get('role'):<7} {step.get('operation')} {one_line(step.get('method'))} "
              f"{one_line(step.get('path'), 80)} -> {got}{before}")

    interrupt.install()
    with _target_errors(), targets.open_target(name, region=region, profile=ns.aws_profile, allow_live=ns.live,
                                               reference_options=server) as target:
        targets.ensure_reachable(target)
        print(f"qsconform repro {ns.rule_id} against {targets.describe(name, target.endpoint)}")
        with Transport(target, spec) as transport:
            replayed = reproduction.replay(spec, rule, transport, region, told)
    said = f"{ns.rule_id} [{level_text(rule)}]"
    if replayed.reproduced:
        assert replayed.deviation is not None, "a reproduced rule was broken again"
        same = "the same deviation as the report" if replayed.deviation.message == rule.get("message") \
            else f"the report said: {one_line(rule.get('message'), 200)}"
        print(f"reproduced: {said} {one_line(replayed.deviation.message, 400)}  ({same})")
        return exits.FAILED
    why = "the target keeps the rule" if replayed.judged else "the answer is outside the rule's scope"
    print(f"not reproduced: {why} (the report said: {one_line(rule.get('message'), 200)})")
    return exits.OK


def cmd_schema(ns: argparse.Namespace) -> int:
    from qsconform.spec.loader import default_spec, load_spec
    from qsconform.spec.model import SpecError
    from qsconform.spec.oracle import contract_schema

    try:
        spec = load_spec(ns.spec_dir) if ns.spec_dir else default_spec()
    except SpecError as exc:
        print(f"qsconform: invalid spec: {exc}", file=sys.stderr)
        return exits.USAGE
    if ns.operation not in spec.operations:
        print(f"qsconform: unknown operation {ns.operation!r} (known: {', '.join(spec.operations)})", file=sys.stderr)
        return exits.USAGE
    print(json.dumps(contract_schema(spec[ns.operation], ns.reading), indent=2, ensure_ascii=False))
    return exits.OK


def cmd_probe(ns: argparse.Namespace) -> int:
    from qsconform.conformance.engine.session import reference_options
    from qsconform.conformance.tools import probe as probing

    spec = spec_of(ns)
    config = run_config(namespace_value(ns))  # the run's own mapping: a probe takes some of its options
    if ns.dry_run:
        the_budget, plan = probing.dry_run(config, spec)
        for item in plan.probes:
            print(item.rule.id)
            for request in item.requests:
                print(f"  {request.operation} {json.dumps(request.path_params)} {request.body_bytes().decode('utf-8', 'replace')}")
        for item in plan.not_probed:
            print(f"not probed: {item.rule_id}: {item.why}")
        requests = sum(len(p.requests) for p in plan.probes)
        if the_budget.live:
            share = probing.shares(spec, the_budget, plan)
            roles = ", ".join(f"{role} {n}" for role, n in the_budget.roles(spec).items())
            print(f"would send {requests} requests for {len(plan.probes)} rules; register {len(the_budget.registrations)} "
                  f"user(s) to update first ({roles or 'none'}), and at most {sum(share.values())} more if the target "
                  f"accepts what it probes ({min(share.values(), default=0)} a rule), within --max-users "
                  f"{config.max_users}; every user under {config.prefix!r}, deleted at the end")
        else:
            users = plan.users(spec)
            print(f"would send {requests} requests for {len(plan.probes)} rules, and register users under "
                  f"{config.prefix!r} ({len(users)} names), deleting each at the end")
        return exits.OK
    if not ns.record:
        raise _Usage("probe needs --record FILE (or --dry-run)")
    _check_target_options(ns)
    # Ctrl-C and SIGTERM end the probe through its cleanup.
    with interrupt.installed(), _target_errors():
        result = probing.probe(config, spec, Path(ns.record), server_options=reference_options(config, ns.reference_option),
                               progress=lambda line: print(line, file=sys.stderr))
    for rule_id, answers in result.answers.items():
        print(f"{rule_id}: " + ", ".join(f"{answer or '(no answer)'} x{n}" for answer, n in answers.items()))
    for item in result.not_probed:
        print(f"not probed: {item.rule_id}: {item.why}")
    roles = "".join(f", {role} {n}" for role, n in sorted(result.registered.items()))
    print(f"probe: {result.sent} requests for {len(result.answers)} rules; registered "
          f"{sum(result.registered.values())} users{' (' + roles[2:] + ')' if roles else ''}, "
          f"left behind {len(result.left_behind)}")
    if result.left_behind:
        print(f"left behind: {', '.join(map(repr, result.left_behind[:5]))}", file=sys.stderr)
    print(f"cassette: {ns.record}  (next: qsconform observe {ns.record} --output observations.json)")
    return exits.OK


def cmd_observe(ns: argparse.Namespace) -> int:
    from qsconform.conformance.cassette import CassetteError
    from qsconform.conformance.tools.observe import observe, summary

    try:
        document = observe([Path(p) for p in ns.cassettes], spec_of(ns))
    except CassetteError as exc:
        raise _Usage(str(exc)) from None
    output = Path(ns.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=1, ensure_ascii=True) + "\n", encoding="ascii")
    print("\n".join(summary(document)))
    print(f"observations: {len(document['observations'])} rules settled, {len(document['unsettled'])} unsettled; "
          f"wrote {output}  (next: qsconform observations {output})")
    return exits.OK


def cmd_observations(ns: argparse.Namespace) -> int:
    from qsconform.spec.loader import load_spec
    from qsconform.spec.model import SpecError

    try:
        spec = load_spec(ns.spec_dir, ns.files)
    except SpecError as exc:
        raise _Usage(str(exc)) from None
    order = {"contradicts": 0, "applies": 1, "confirms": 2, "not applied": 3}
    for effect in sorted(spec.observations, key=lambda e: (order[e.kind], e.rule_id)):
        head = "CONTRADICTS" if effect.loud else effect.kind
        print(f"{head:<11}  {effect.rule_id}: {effect.text}  [{effect.file}]")
    counts = {kind: sum(e.kind == kind for e in spec.observations) for kind in order}
    print(", ".join(f"{n} {kind}" for kind, n in counts.items()))
    if counts["contradicts"]:
        print("qsconform: some observations contradict a MUST or OBSERVED rule: they are not applied; look at the "
              "recording and the sources before changing the spec", file=sys.stderr)
        return exits.FAILED
    return exits.OK


def _finished(code: int) -> int:
    """A command's exit code, or 130 when a signal came that it only remembered (one during its cleanup, which ran
    to its end)."""
    if interrupt.pending() and code != exits.INTERRUPTED:
        print("qsconform: interrupted (what it created was deleted first)", file=sys.stderr)
        return exits.INTERRUPTED
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["spec-diff"]:
            from qsconform.spec import diff as spec_diff
            return spec_diff.main(argv[1:])
        if argv[:1] == ["compare"]:
            from qsconform.conformance import compare
            with interrupt.installed():  # Ctrl-C and SIGTERM end the comparison through its cleanup
                return _finished(compare.main(argv[1:]))
        ns = build_parser().parse_args(argv)
        commands = {"run": cmd_run, "sweep": cmd_sweep, "merge": cmd_merge, "schema": cmd_schema, "rules": cmd_rules,
                    "explain": cmd_explain, "matrix": cmd_matrix, "probe": cmd_probe, "observe": cmd_observe,
                    "observations": cmd_observations, "repro": cmd_repro}
        return _finished(commands[ns.command](ns))
    except _Usage as exc:
        print(f"qsconform: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("qsconform: interrupted", file=sys.stderr)
        return exits.INTERRUPTED
    except BrokenPipeError:  # output piped into head and the like
        sys.stderr.close()
        return exits.OK
    except Exception:
        if interrupt.pending():  # an interrupt a library turned into an error of its own, on its way out
            print("qsconform: interrupted", file=sys.stderr)
            return exits.INTERRUPTED
        raise


if __name__ == "__main__":
    sys.exit(main())
