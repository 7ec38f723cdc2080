"""A conformance run from start to end, outside pytest: open the target, probe it, hand out the Run, and
on every way out (failure, Ctrl-C) delete what it created, save the recording and stop what was started.

The pytest plugin is one user of it, the tests of the verdicts (which judge many runs in one process)
another.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qsconform.conformance.engine import interrupt

from qsconform.conformance.engine.run import Run
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.wire import targets
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.model import Spec

if TYPE_CHECKING:
    from qsconform.conformance.cassette import Cassette


def parse_reference_options(options: list[str] | tuple[str, ...] = ()) -> dict:
    """NAME=VALUE strings (--reference-option) as a dict, true/false read as booleans; ValueError (one line) for
    one without '='."""
    out: dict = {}
    for option in options:
        name, equals, value = option.partition("=")
        if not equals or not name:
            raise ValueError(f"--reference-option takes NAME=VALUE, got {option!r}")
        out[name] = {"true": True, "false": False}.get(value.lower(), value)
    return out


def reference_options(config: RunConfig, options: list[str] | tuple[str, ...] = ()) -> dict:
    """The reference server's options from NAME=VALUE strings (true/false read as booleans) and the faults."""
    return ({"faults": config.faults} if config.faults else {}) | parse_reference_options(options)


class RunSession:
    """The Run and what it holds open: the target (moto started...), its transport, a recording.

    Creating it opens the target, or raises targets.TargetError (bad configuration, a live target
    without --live) or targets.TargetUnreachable before anything is created. `start()` probes the
    target and gives the Run, unsent rules and operations the target lacks already settled. `close()`,
    however the session ends (a failure, Ctrl-C in the middle of probing), deletes the users the run
    created (`run.left_behind` names those that could not be), saves the recording and stops what was
    started. Use it as a context manager, or call both.
    """

    def __init__(self, config: RunConfig, spec: Spec, *, server_options: dict | None = None,
                 record: Path | None = None, baseline=None, selected=()):
        self.config, self.spec, self.record, self.baseline = config, spec, record, baseline
        self.selected = tuple(selected)  # the ids of the rules the run sets out to judge: not-run until judged
        self.target = targets.open_target(config.target, region=config.region, account_id=config.account_id,
                                          profile=config.aws_profile, allow_live=config.live,
                                          reference_options=server_options or None)
        self.run: Run | None = None
        self.cassette: Cassette | None = None
        self.closed = False

    def start(self, rules=None) -> Run:
        """`rules`: those the run will judge (None: every rule the spec sends), for the plan of what it may
        register on a live target (conformance/engine/budget.py), made before anything is created."""
        targets.ensure_reachable(self.target)
        # A loopback emulator that answers 500 or 503 is not busy: a few quick retries are enough.
        transport = Transport(self.target, self.spec) if self.target.live \
            else Transport(self.target, self.spec, backoff=0.005)
        if self.record is not None:
            from qsconform.conformance.cassette import Cassette

            self.cassette = Cassette.recording(self.record, target=self.target, prefix=self.config.prefix)
            transport.observers.append(self.cassette.observe)
        self.run = Run(self.config, self.spec, self.target, transport, rules=rules, cassette=self.cassette,
                       baseline=self.baseline)
        self.run.results.selected(self.selected)
        self.run.settle_unsent()
        self.run.register_planned()  # registers users: from here on, close() has something to delete
        self.run.find_unsupported()
        return self.run

    def judge_ahead(self, rules) -> int:
        """Start judging these rules side by side (conformance/engine/side_by_side.py), as many at once as the run's
        concurrency (None: the target's default); `run.judge_rule` then waits for each. Returns the concurrency."""
        assert self.run is not None, "start() comes first"
        return self.run.scheduler.start(list(rules))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with interrupt.deferred():  # a Ctrl-C now is remembered, not raised: the cleanup runs to its end
            try:
                if self.run is not None:
                    self.run.scheduler.close()  # nothing is sent any more: cleanup sees every user the run made
                    self.run.cleanup()
                if self.cassette is not None:
                    self.cassette.save()
            finally:
                self.target.close()

    def __enter__(self) -> Run:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()
