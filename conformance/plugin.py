"""pytest plugin of the conformance run: options, the `run` fixture, one test per rule, the summary.

Loaded by the top-level conftest.py (so `pytest conformance --target ...` works
from a checkout) and by `qsconform run` (`-p qsconform.conformance.plugin`). Nothing
starts until a conformance test asks for the `run` fixture, so the plugin
costs nothing in other test sessions.
"""
from __future__ import annotations

import json
import time
import zlib
from pathlib import Path

import pytest

from qsconform.spec.model import SpecError, default_spec, load_spec

EXIT_USAGE, EXIT_UNREACHABLE = 2, 3


def pytest_addoption(parser):
    g = parser.getgroup("qsconform", "qsconform conformance run")
    g.addoption("--target", default="moto", help="moto (default, started on loopback), reference, aws, or a base URL")
    g.addoption("--region", default=None, help="AWS region of the target (default: AWS_REGION or the configured region, else us-east-1)")
    g.addoption("--account-id", default=None, help="12-digit account id the target serves (default: the emulator's)")
    g.addoption("--namespace", default="default", help="QuickSight namespace to use (default: default)")
    g.addoption("--profile", dest="qs_profile", default="default", choices=["quick", "default", "thorough"],
                help="examples per rule: quick (about a minute locally), default (a few minutes), thorough")
    g.addoption("--examples", type=int, default=None, help="examples per rule, instead of the profile's")
    g.addoption("--seed", type=int, default=None, help="seed that regenerates every request of a run")
    g.addoption("--report-dir", default=None, help="where compliance.json goes (default reports/<target>-<timestamp>)")
    g.addoption("--live", action="store_true", help="allow a non-loopback target such as real AWS")
    g.addoption("--max-users", type=int, default=20, help="on live targets, create at most this many users (default 20)")
    g.addoption("--iam-arn", action="append", default=[], help="an IAM user or role ARN the run may register (repeatable)")
    g.addoption("--custom-permissions-name", default=None, help="an existing custom permissions profile to assign")
    g.addoption("--aws-profile", default=None, help="credentials profile for SigV4 (default: the standard chain)")
    g.addoption("--spec-dir", default=None, help="spec directory (default: the installed spec/)")
    g.addoption("--fault", action="append", default=[], help="with --target reference: switch on a named fault")
    g.addoption("--reference-option", action="append", default=[], metavar="NAME=VALUE",
                help="with --target reference: a variant option (status_in_body=true, constraint_error=...)")
    g.addoption("--shard", default=None, help="i/N: run the i-th of N deterministic shards of the rules (CI matrices)")
    g.addoption("--baseline", default=None, help="accepted failures: only a failure not listed there fails the run")
    g.addoption("--write-baseline", default=None, help="record this run's failures as a baseline file")
    g.addoption("--record", default=None, help="store every request and answer of the run as a normalised cassette")
    # pytest itself owns --strict (its markers): `qsconform run --strict` passes this one.
    g.addoption("--strict-verdicts", dest="qs_strict", action="store_true",
                help="advisories (deviations from what only an inference expects, level SHOULD) fail the run too")


def pytest_configure(config):
    config._qsconform_baseline = None
    if config.getoption("baseline", None):
        from qsconform.conformance.baseline import BaselineError, load_baseline

        try:
            config._qsconform_baseline = load_baseline(config.getoption("baseline"))
        except BaselineError as exc:
            _abort(config, f"qsconform: {exc}", EXIT_USAGE)
    # One report directory for the whole session, chosen where the session starts (the xdist controller).
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config._qsconform_report_dir = workerinput.get("qsconform_report_dir")
        return
    directory = config.getoption("report_dir", None)
    if directory is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = config.getoption("target", "moto") or "moto"
        safe = "".join(c if c.isalnum() or c in "-." else "-" for c in target)[:40]
        directory = str(Path("reports") / f"{safe}-{stamp}")
    config._qsconform_report_dir = directory


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["qsconform_report_dir"] = node.config._qsconform_report_dir


def shard_of(rule_id: str, count: int) -> int:
    """The shard (1..count) a rule belongs to: stable across runs, machines and Python versions."""
    return zlib.crc32(rule_id.encode("utf-8")) % count + 1


def _parse_shard(config):
    value = config.getoption("shard", None)
    if not value:
        return None
    try:
        index, count = (int(x) for x in value.split("/"))
        if not 1 <= index <= count:
            raise ValueError
    except ValueError:
        _abort(config, f"qsconform: --shard takes i/N with 1 <= i <= N, got {value!r}", EXIT_USAGE)
    return index, count


def pytest_collection_modifyitems(session, config, items):
    shard = _parse_shard(config)
    if shard is None:
        return
    index, count = shard
    keep, drop = [], []
    for item in items:
        rule = getattr(item, "callspec", None) and item.callspec.params.get("rule")
        (drop if rule is not None and shard_of(rule.id, count) != index else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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


def pytest_generate_tests(metafunc):
    if "rule" in metafunc.fixturenames:
        rules = [r for r in _spec(metafunc.config).rules if r.sent]
        metafunc.parametrize("rule", rules, ids=[r.id for r in rules])


def run_config(config):
    from qsconform.conformance.run import RunConfig

    kwargs = dict(target=config.getoption("target"), region=config.getoption("region"), account_id=config.getoption("account_id"),
                  namespace=config.getoption("namespace"), profile=config.getoption("qs_profile"),
                  seed=config.getoption("seed"), live=config.getoption("live"),
                  max_users=config.getoption("max_users"), iam_arns=tuple(config.getoption("iam_arn")),
                  custom_permissions_name=config.getoption("custom_permissions_name"),
                  aws_profile=config.getoption("aws_profile"), faults=tuple(config.getoption("fault")),
                  max_examples=config.getoption("examples"), strict=config.getoption("qs_strict"))
    # The worker id from xdist's own config, not PYTEST_XDIST_WORKER: a run started from inside
    # a worker (a test that runs `qsconform run`) inherits that variable without being a worker.
    worker = (getattr(config, "workerinput", None) or {}).get("workerid")
    cfg = RunConfig(**kwargs)
    if worker:  # each xdist worker names its users apart
        from dataclasses import replace
        cfg = replace(cfg, prefix=f"{cfg.prefix}{worker}-")
    return cfg


@pytest.fixture(scope="session")
def run(request):
    """The run: target opened (moto started...), operations probed; users cleaned up and report written at the end."""
    from qsconform.conformance import targets
    from qsconform.conformance.run import Run
    from qsconform.conformance.transport import Transport

    config = request.config
    spec = _spec(config)
    cfg = run_config(config)
    reference_options = {"faults": cfg.faults} if cfg.faults else {}
    for option in config.getoption("reference_option"):
        name, _, value = option.partition("=")
        reference_options[name] = {"true": True, "false": False}.get(value.lower(), value)
    try:
        target = targets.open_target(cfg.target, region=cfg.region, account_id=cfg.account_id, profile=cfg.aws_profile,
                                     allow_live=cfg.live, reference_options=reference_options or None)
    except targets.LiveTargetRefused as exc:
        _abort(config, f"qsconform: {exc}", EXIT_USAGE)
    except targets.TargetUnreachable as exc:
        _abort(config, f"qsconform: {exc}", EXIT_UNREACHABLE)
    except targets.TargetError as exc:
        _abort(config, f"qsconform: {exc}", EXIT_USAGE)
    the_run = cassette = None
    try:
        try:
            targets.probe(target)
            # A loopback emulator that answers 500 or 503 is not busy: a few quick retries are enough.
            transport = Transport(target, spec) if target.live else Transport(target, spec, backoff=0.005)
            if config.getoption("record"):
                from qsconform.conformance.cassette import Cassette

                path = Path(config.getoption("record"))
                workerinput = getattr(config, "workerinput", None)
                if workerinput is not None:  # one cassette per xdist worker, each in its own order
                    path = path.with_name(f"{path.stem}.{workerinput['workerid']}{path.suffix}")
                cassette = Cassette.recording(path, target=target, prefix=cfg.prefix)
                transport.observers.append(cassette.observe)
            the_run = Run(cfg, spec, target, transport)
            the_run.cassette = cassette
            the_run.baseline = config._qsconform_baseline
            config._qsconform_run = the_run
            for rule in spec.rules:
                if not rule.sent:
                    the_run.results.set(rule.id, "unsent", f"not sent: {rule.why}" if rule.why else "not sent")
            the_run.probe_operations()
        except targets.TargetUnreachable as exc:
            _abort(config, f"qsconform: {exc}", EXIT_UNREACHABLE)
        for op, why in the_run.unsupported.items():
            for rule in spec.operations[op].rules:
                the_run.results.set(rule.id, "unsupported", why)
        yield the_run
    finally:
        # Also on Ctrl-C and on failures during setup: delete what the run created, then report.
        if the_run is not None:
            the_run.left_behind = the_run.cleanup()
            _write_report(config, the_run)
        if cassette is not None:
            cassette.save()
        target.close()


def _write_report(config, the_run) -> None:
    from qsconform.conformance.report import compliance_document
    from qsconform.conformance.results import write_json

    directory = Path(config._qsconform_report_dir)
    document = compliance_document(the_run)
    shard = config.getoption("shard", None)
    if shard:
        document["shard"] = shard
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # the controller merges the workers' parts
        write_json(directory / ".parts" / f"{workerinput['workerid']}.json", document)
        return
    _finish(config, document, directory)


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    parts_dir = Path(getattr(config, "_qsconform_report_dir", None) or ".") / ".parts"
    if getattr(config, "workerinput", None) is not None or not parts_dir.is_dir():
        return
    from qsconform.conformance.results import merge_documents

    parts = sorted(parts_dir.glob("*.json"))
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in parts]
    if documents:
        _finish(config, merge_documents(documents), parts_dir.parent)
    for p in parts:
        p.unlink()
    parts_dir.rmdir()


def _finish(config, document: dict, directory: Path) -> None:
    """The whole session's document: compared with the baseline, written in every format."""
    from qsconform.conformance.report import write_reports

    baseline = config._qsconform_baseline
    outcome = None
    if baseline is not None:
        from qsconform.conformance.baseline import compare

        outcome = compare(document, baseline, strict=config.getoption("qs_strict"))
        document["baseline"] = outcome.as_dict()
    write_reports(document, directory, outcome)
    if config.getoption("write_baseline", None):
        from qsconform.conformance.baseline import write_baseline

        write_baseline(document, Path(config.getoption("write_baseline")))
    config._qsconform_document = document


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    document = getattr(config, "_qsconform_document", None)
    if document is None:
        return
    from qsconform.conformance.report import summary_lines

    terminalreporter.section("qsconform")
    for line in summary_lines(document, Path(config._qsconform_report_dir)):
        terminalreporter.write_line(line)
