"""pytest plugin of the conformance run: a thin adapter from pytest to conformance/engine/session.py.

It makes one test per rule the suite sends, opens the run for the session (the `run` fixture), writes
the reports at the end and prints the summary. Its settings (options.RunSettings) come from `qsconform
run`, which hands them over in a `CommandLineRun` plugin object; from the controller, in an xdist
worker (its workerinput); or, under plain `pytest conformance/suite --target ...`, from the options it
declares (conformance/tools/options.py). Its state lives in `config.stash`. Loaded by the top-level
conftest.py (so that plain use works from a checkout) and by `qsconform run`. Nothing starts until a
conformance test asks for the `run` fixture, so the plugin costs nothing in other test sessions.
"""
from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from qsconform.conformance.engine import interrupt
from qsconform.conformance.tools import exits
from qsconform.conformance.tools.options import (RUN_OPTIONS, TARGET_OPTIONS, RunSettings, add_to_pytest, option_value,
                                                 parse_shard, run_settings, selects, worker_settings)
from qsconform.spec.loader import default_spec, load_spec
from qsconform.spec.model import Spec, SpecError


@dataclass
class PluginState:
    """What the plugin keeps for one pytest session."""

    settings: RunSettings
    report_dir: Path
    # Set when `qsconform run` prints the summary itself, after pytest is done: then nothing of pytest's comes
    # after it.
    by_caller: bool = False
    baseline: Any = None  # conformance.baseline.Baseline under --baseline
    spec: Spec | None = None
    exit_code: int | None = None  # set when the session is stopped early (bad configuration, unreachable)
    message: str | None = None  # that one line
    document: dict | None = None  # the compliance document, once written
    run_open: bool = False  # the run fixture opened a target: an interrupt now ends the run, reported
    interrupted: bool = False  # Ctrl-C or SIGTERM (a KeyboardInterrupt reached pytest's test loop)
    stopped_early: bool = False  # -x or --maxfail (the test loop ended before every test ran)
    extra: dict = field(default_factory=dict)


PLUGIN_STATE = pytest.StashKey[PluginState]()
WORKER_SETTINGS = "qsconform_settings"  # the key of the run's settings in an xdist worker's workerinput


class CommandLineRun:
    """What `qsconform run` hands pytest beside the plugin (`pytest.main(args, plugins=[CommandLineRun(settings)])`):
    the run's settings, parsed once by the command; and back, once pytest is done, the plugin's `state`: the one
    line and exit code of a run that could not begin, or the compliance document, whose summary the command
    prints itself."""

    def __init__(self, settings: RunSettings):
        self.settings = settings
        self.state: PluginState | None = None


def pytest_addoption(parser):
    add_to_pytest(parser.getgroup("qsconform", "qsconform conformance run"), TARGET_OPTIONS + RUN_OPTIONS)


def plugin_state(config) -> PluginState:
    return config.stash[PLUGIN_STATE]


def pytest_configure(config):
    workerinput = getattr(config, "workerinput", None)
    caller = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, CommandLineRun)), None)
    if workerinput is not None and WORKER_SETTINGS in workerinput:
        settings = worker_settings(RunSettings.from_dict(workerinput[WORKER_SETTINGS]), workerinput["workerid"],
                                   int(workerinput.get("workercount", 1)))
    else:
        settings = caller.settings if caller is not None else run_settings(lambda flag: option_value(config, flag))
    if settings.report_dir is None:  # one report directory for the whole session, chosen where it starts
        safe = "".join(c if c.isalnum() or c in "-." else "-" for c in settings.config.target or "moto")
        settings = replace(settings, report_dir=str(Path("reports") / f"{safe[:40]}-{time.strftime('%Y%m%d-%H%M%S')}"))
    state = config.stash[PLUGIN_STATE] = PluginState(settings=settings, report_dir=Path(str(settings.report_dir)),
                                                     by_caller=caller is not None)
    if caller is not None:
        caller.state = state
    if settings.baseline:
        from qsconform.conformance.judging.baseline import BaselineError, load_baseline

        try:
            state.baseline = load_baseline(settings.baseline)
        except BaselineError as exc:
            _abort(config, f"qsconform: {exc}", exits.USAGE)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """The controller's settings reach each worker, JSON-able, the report directory among them."""
    node.workerinput[WORKER_SETTINGS] = plugin_state(node.config).settings.as_dict()


def shard_of(rule_id: str, count: int) -> int:
    """The shard (1..count) a rule belongs to: stable across runs, machines and Python versions."""
    return zlib.crc32(rule_id.encode("utf-8")) % count + 1


def _settings(config) -> RunSettings:
    return plugin_state(config).settings


def _parse_shard(config):
    value = _settings(config).shard
    if not value:
        return None
    try:
        return parse_shard(value)
    except ValueError as exc:
        _abort(config, f"qsconform: {exc}", exits.USAGE)


def pytest_collection_modifyitems(session, config, items):
    shard = _parse_shard(config)
    settings = _settings(config)
    rule_ids, levels, categories = set(settings.rules), set(settings.levels), set(settings.categories)
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        rule = _rule_of(item)
        chosen = rule is None or (selects(rule, rule_ids, levels, categories) and _in_shard(rule, shard))
        (keep if chosen else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _rule_of(item):
    return getattr(item, "callspec", None) and item.callspec.params.get("rule")


def _in_shard(rule, shard) -> bool:
    return shard is None or shard_of(rule.id, shard[1]) == shard[0]


def pytest_deselected(items):
    """Rules left out of the run (by --rule, --level, --category, or pytest's -k and -m) are in the Allure
    results all the same, skipped with why; a rule another shard judges is that shard's to report. Under
    xdist every worker collects alike: the first one reports them."""
    if not items:
        return
    config = items[0].config
    worker = (getattr(config, "workerinput", None) or {}).get("workerid")
    if not getattr(config.option, "allure_report_dir", None) or worker not in (None, "gw0"):
        return
    from qsconform.conformance.engine.rule_runner import unsent_message
    from qsconform.conformance.reporting import allure_labels

    shard, settings = _parse_shard(config), _settings(config)
    chosen = "; ".join(f"{flag} {' '.join(map(str, value)) if isinstance(value, (list, tuple)) else value}"
                       for flag, value in (("--rule", settings.rules), ("--level", settings.levels),
                                           ("--category", settings.categories),
                                           ("-k", config.option.keyword), ("-m", config.option.markexpr)) if value)
    left_out = "deselected: left out of this run" + (f" ({chosen})" if chosen else "")
    rules = [r for r in map(_rule_of, items) if r is not None and _in_shard(r, shard)]
    allure_labels.report_unrun([(r, "deselected", left_out) if r.sent else (r, "unsent", unsent_message(r))
                                for r in rules],
                               settings.config.target)


def _abort(config, message: str, code: int):
    """Stop the session with one clear line; `qsconform run` exits with `code`. Raised while the tests run (the
    run fixture), pytest's Exit is caught at the test loop and the line printed once, with nothing of pytest's
    around it."""
    plugin_state(config).exit_code, plugin_state(config).message = code, message
    pytest.exit(message, returncode=code)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    """A run's own ends come back here: its one-line abort (a target unreachable, not a QuickSight endpoint), and an
    interrupt while rules are judged. Both end the loop quietly: the run fixture's teardown still deletes what the
    run created and reports (interrupted: true), and the exit status is set at the session's finish. pytest's own
    account of a KeyboardInterrupt (and xdist's of -x: `session.Interrupted`) would otherwise come after the
    summary. Outside a conformance run (the project's own tests) nothing changes."""
    config = session.config
    try:
        return (yield)
    except pytest.exit.Exception:
        if PLUGIN_STATE not in config.stash or plugin_state(config).exit_code is None:
            raise
        return True
    except KeyboardInterrupt as exc:
        if PLUGIN_STATE not in config.stash or not (plugin_state(config).run_open or plugin_state(config).by_caller):
            raise
        if isinstance(exc, session.Interrupted) and not interrupt.pending():
            plugin_state(config).stopped_early = True  # xdist's controller, stopping on --maxfail
        else:
            plugin_state(config).interrupted = True
        return True


def _spec(config) -> Spec:
    state = plugin_state(config)
    if state.spec is None:
        directory, observations = state.settings.spec_dir, state.settings.observations
        try:
            state.spec = load_spec(directory, observations) if directory or observations else default_spec()
        except SpecError as exc:
            _abort(config, f"qsconform: invalid spec: {exc}", exits.USAGE)
    assert state.spec is not None, "loaded above, or the session was aborted"
    return state.spec


def pytest_generate_tests(metafunc):
    if "rule" in metafunc.fixturenames:
        rules = list(_spec(metafunc.config).rules)  # unsent ones too: skipped with why (suite/test_rules.py)
        metafunc.parametrize("rule", rules, ids=[r.id for r in rules])


def _recording(config) -> Path | None:
    record = _settings(config).record
    if not record:
        return None
    path = Path(record)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # one cassette per xdist worker, each in its own order
        path = path.with_name(f"{path.stem}.{workerinput['workerid']}{path.suffix}")
    return path


@pytest.fixture(scope="session")
def run(request):
    """The run: target opened (moto started...), operations probed; users cleaned up and report written at the end."""
    from qsconform.conformance.engine.session import RunSession, reference_options
    from qsconform.conformance.wire import targets

    config = request.config
    state = plugin_state(config)
    cfg = state.settings.config
    selected = [rule for rule in map(_rule_of, request.session.items) if rule and rule.sent]
    try:
        session = RunSession(cfg, _spec(config), record=_recording(config), baseline=state.baseline,
                             server_options=reference_options(cfg, state.settings.reference_options),
                             selected=[rule.id for rule in selected])
    except targets.TargetUnreachable as exc:
        _abort(config, f"qsconform: {exc}", exits.UNREACHABLE)
    except targets.TargetError as exc:  # a live target without --live among them
        _abort(config, f"qsconform: {exc}", exits.USAGE)
    state.run_open = True
    try:
        try:
            # Probing compiles the oracle's schemas and draws: a Ctrl-C may come back as a library's own error.
            with interrupt.unwrapped():
                the_run = session.start(selected)
                # The session's rules are judged side by side, ahead of their tests, in the tests' order. An xdist
                # worker runs the tests the controller hands it, one by one, unknown in advance: it judges as they
                # come.
                if getattr(config, "workerinput", None) is None:
                    session.judge_ahead(selected)
        except targets.TargetUnreachable as exc:  # not a QuickSight endpoint among them
            _abort(config, f"qsconform: {exc}", exits.UNREACHABLE)
        yield the_run
    finally:
        # Also on Ctrl-C, while probing too: delete what the run created, then report (unless the run never began).
        session.close()
        if session.run is not None and state.exit_code is None:
            state.stopped_early = state.stopped_early or bool(request.session.shouldfail)
            with interrupt.deferred():
                _write_report(config, session.run)


def _write_report(config, the_run) -> None:
    from qsconform.conformance.judging.results import write_json
    from qsconform.conformance.reporting.report import compliance_document

    state = plugin_state(config)
    directory = state.report_dir
    document = compliance_document(the_run, interrupted=state.interrupted or interrupt.pending(),
                                   stopped_early=state.stopped_early)
    shard = state.settings.shard
    if shard:
        document["shard"] = shard
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # the controller merges the workers' parts
        write_json(directory / ".parts" / f"{workerinput['workerid']}.json", document)
        return
    _finish(config, document, directory)


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if PLUGIN_STATE not in config.stash:
        return
    state = plugin_state(config)
    # The run's own ends, caught at the test loop (pytest_runtestloop): the exit status they give.
    if state.exit_code is not None:
        session.exitstatus = state.exit_code
    elif state.interrupted:
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    if getattr(config, "workerinput", None) is not None:
        return
    parts_dir = state.report_dir / ".parts"
    if not parts_dir.is_dir():
        return
    from qsconform.conformance.judging.results import merge_documents

    parts = sorted(parts_dir.glob("*.json"))
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in parts]
    if documents:
        merged = merge_documents(documents)
        merged["interrupted"] = merged["interrupted"] or state.interrupted or interrupt.pending()
        merged["stopped_early"] = merged["stopped_early"] or state.stopped_early or bool(session.shouldfail)
        _not_run_messages(merged)
        _finish(config, merged, parts_dir.parent)
    for p in parts:
        p.unlink()
    parts_dir.rmdir()


def _not_run_messages(document: dict) -> None:
    """Why each rule never reached is not-run: the run's end, said once it is known."""
    why = ("the run was interrupted before it was judged" if document.get("interrupted")
           else "the run stopped early (-x, --maxfail) before it was judged" if document.get("stopped_early")
           else "never judged: the test that judges it did not run")
    for rule in document.get("rules") or ():
        if rule.get("status") == "not-run" and not rule.get("message"):
            rule["message"] = why


def _finish(config, document: dict, directory: Path) -> None:
    """The whole session's document: compared with the baseline, written in every format."""
    from qsconform.conformance.reporting.report import write_reports

    state = plugin_state(config)
    _not_run_messages(document)
    outcome = None
    if state.baseline is not None:
        from qsconform.conformance.judging.baseline import compare

        outcome = compare(document, state.baseline, strict=state.settings.config.strict)
        document["baseline"] = outcome.as_dict()
    if state.settings.write_baseline:
        from qsconform.conformance.judging.baseline import write_baseline
        from qsconform.conformance.judging.results import partial_text

        partial = partial_text(document)
        if partial:  # a baseline of part of the rules would accept nothing of the rest
            document["baseline_not_written"] = f"{state.settings.write_baseline}: not written, {partial}"
        else:
            write_baseline(document, Path(state.settings.write_baseline))
    write_reports(document, directory, outcome)
    state.document = document


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    """allure-pytest reports each finalizer of a fixture as a teardown of its own, pytest's own bookkeeping one
    too (a lambda that ends the fixture, which Allure then shows as `run::<lambda>` with no status): give that
    one back unreported, and name the fixture's own teardown."""
    try:
        return (yield)
    finally:
        finalizers = getattr(fixturedef, "_finalizers", None) or []
        for index, finalizer in enumerate(finalizers):
            inner = getattr(finalizer, "_fixture_function", None)  # an allure_commons.fixture wrapper
            if inner is None:
                continue
            if getattr(inner, "__name__", "") == "<lambda>" and ".execute." in getattr(inner, "__qualname__", ""):
                finalizers[index] = inner
            elif hasattr(finalizer, "_name"):
                finalizer._name = f"{fixturedef.argname} teardown"


# Each rule's letter in pytest's progress line, by its verdict (console.PROGRESS explains them).
_LETTERS = {"passed": ".", "failed": "F", "advisory": "a", "accepted": "b", "unsent": "-"}


def pytest_report_teststatus(report, config):
    """A rule's test shows its verdict's letter (and word, under -v); pytest's own category, so its counts stand."""
    verdict = dict(getattr(report, "user_properties", None) or ()).get("qsconform_verdict")
    if report.when != "call" or verdict is None:
        return None
    category = "xfailed" if report.skipped and hasattr(report, "wasxfail") else report.outcome
    letter = _LETTERS.get(verdict, "s")
    return category, letter, verdict.upper()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if PLUGIN_STATE not in config.stash or plugin_state(config).by_caller:
        return
    state = plugin_state(config)
    if state.message:
        terminalreporter.write_line(state.message)
    if state.document is None:
        return
    from qsconform.conformance.reporting.console import summary_lines

    terminalreporter.section("qsconform")
    verbose = config.getoption("verbose") > 0
    for line in summary_lines(state.document, state.report_dir, width=config.get_terminal_writer().fullwidth,
                              interrupted=bool(interrupt.pending()) or exitstatus == pytest.ExitCode.INTERRUPTED,
                              progress=not verbose, alluredir=getattr(config.option, "allure_report_dir", None)):
        terminalreporter.write_line(line)
