"""pytest plugin of the conformance run: options, the `run` fixture, one test per rule, the summary.

Loaded by the top-level conftest.py (so `pytest conformance --target ...` works
from a checkout) and by `qsconform run` (`-p conformance.plugin`). Nothing
starts until a conformance test asks for the `run` fixture, so the plugin
costs nothing in other test sessions.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from conformance.spec import SpecError, default_spec, load_spec

EXIT_USAGE, EXIT_UNREACHABLE = 2, 3


def pytest_addoption(parser):
    g = parser.getgroup("qsconform", "qsconform conformance run")
    g.addoption("--target", default="moto", help="moto (default, started on loopback), reference, aws, or a base URL")
    g.addoption("--region", default=None, help="AWS region of the target (default: AWS_REGION or the configured region, else us-east-1)")
    g.addoption("--account-id", default=None, help="12-digit account id the target serves (default: the emulator's)")
    g.addoption("--namespace", default="default", help="QuickSight namespace to use (default: default)")
    g.addoption("--profile", dest="qs_profile", default="default", choices=["quick", "default", "thorough"],
                help="examples per rule: quick (~15 s locally), default (~60 s), thorough")
    g.addoption("--seed", type=int, default=None, help="seed that regenerates every request of a run")
    g.addoption("--report-dir", default=None, help="where compliance.json goes (default reports/<target>-<timestamp>)")
    g.addoption("--live", action="store_true", help="allow a non-loopback target such as real AWS")
    g.addoption("--max-users", type=int, default=20, help="on live targets, create at most this many users (default 20)")
    g.addoption("--iam-arn", action="append", default=[], help="an IAM user or role ARN the run may register (repeatable)")
    g.addoption("--custom-permissions-name", default=None, help="an existing custom permissions profile to assign")
    g.addoption("--aws-profile", default=None, help="credentials profile for SigV4 (default: the standard chain)")
    g.addoption("--spec-dir", default=None, help="spec directory (default: the installed spec/)")
    g.addoption("--fault", action="append", default=[], help="with --target reference: switch on a named fault")


def _abort(config, message: str, code: int):
    """Stop the session with one clear line; `qsconform run` exits with `code`."""
    config._qsconform_exit = code
    pytest.exit(message, returncode=code)


def _spec(config):
    key = "_qsconform_spec"
    if not hasattr(config, key):
        directory = config.getoption("spec_dir", None)
        try:
            spec = load_spec(directory) if directory else default_spec()
        except SpecError as exc:
            _abort(config, f"qsconform: invalid spec: {exc}", EXIT_USAGE)
        setattr(config, key, spec)
    return getattr(config, key)


def testable(rule) -> bool:
    """Rules the suite sends requests for; the others only shape what is generated."""
    if rule.kind in ("member", "cross", "protocol"):
        return rule.generate_violations
    return True


def pytest_generate_tests(metafunc):
    if "rule" in metafunc.fixturenames:
        rules = [r for r in _spec(metafunc.config).rules if testable(r)]
        metafunc.parametrize("rule", rules, ids=[r.id for r in rules])


def run_config(config):
    from conformance.run import RunConfig

    kwargs = dict(target=config.getoption("target"), region=config.getoption("region"), account_id=config.getoption("account_id"),
                  namespace=config.getoption("namespace"), profile=config.getoption("qs_profile"),
                  seed=config.getoption("seed"), live=config.getoption("live"),
                  max_users=config.getoption("max_users"), iam_arns=tuple(config.getoption("iam_arn")),
                  custom_permissions_name=config.getoption("custom_permissions_name"),
                  aws_profile=config.getoption("aws_profile"), faults=tuple(config.getoption("fault")))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    cfg = RunConfig(**kwargs)
    if worker:  # each xdist worker names its users apart
        from dataclasses import replace
        cfg = replace(cfg, prefix=f"{cfg.prefix}{worker}-")
    return cfg


@pytest.fixture(scope="session")
def run(request):
    """The run: target opened (moto started...), operations probed; users cleaned up and report written at the end."""
    from conformance import targets
    from conformance.run import Run
    from conformance.transport import Transport

    config = request.config
    spec = _spec(config)
    cfg = run_config(config)
    try:
        target = targets.open_target(cfg.target, region=cfg.region, account_id=cfg.account_id, profile=cfg.aws_profile,
                                     allow_live=cfg.live, reference_options={"faults": cfg.faults} if cfg.faults else None)
    except targets.LiveTargetRefused as exc:
        _abort(config, f"qsconform: {exc}", EXIT_USAGE)
    except targets.TargetUnreachable as exc:
        _abort(config, f"qsconform: {exc}", EXIT_UNREACHABLE)
    except targets.TargetError as exc:
        _abort(config, f"qsconform: {exc}", EXIT_USAGE)
    try:
        targets.probe(target)
    except targets.TargetUnreachable as exc:
        target.close()
        _abort(config, f"qsconform: {exc}", EXIT_UNREACHABLE)
    transport = Transport(target, spec)
    the_run = Run(cfg, spec, target, transport)
    config._qsconform_run = the_run
    for rule in spec.rules:
        if not testable(rule):
            the_run.results.set(rule.id, "not-run", f"not sent: {rule.why}" if rule.why else "not sent")
    try:
        the_run.probe_operations()
    except targets.TargetUnreachable as exc:
        target.close()
        _abort(config, f"qsconform: {exc}", EXIT_UNREACHABLE)
    for op, why in the_run.unsupported.items():
        for rule in spec.operations[op].rules:
            the_run.results.set(rule.id, "unsupported", why)
    try:
        yield the_run
    finally:
        left = the_run.cleanup()
        the_run.left_behind = left
        _write_report(config, the_run)
        target.close()


def _write_report(config, the_run) -> None:
    from conformance.report import write_reports

    directory = config.getoption("report_dir")
    if directory is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-." else "-" for c in the_run.config.target)[:40]
        directory = Path("reports") / f"{safe}-{stamp}"
    the_run.report_dir = Path(directory)
    write_reports(the_run, Path(directory))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    the_run = getattr(config, "_qsconform_run", None)
    if the_run is None:
        return
    from conformance.report import summary_lines

    terminalreporter.section("qsconform")
    for line in summary_lines(the_run):
        terminalreporter.write_line(line)
