"""`qsconform run ...` command lines run in-process: parsed by the real parser, turned into a run by the same
functions the pytest plugin uses (options.run_config, session.reference_options, cli's spec loading), the rules
the command selects judged one after another, and the compliance document written as a run writes it. What a
command line means is the command's; only pytest's session (collection, terminal) is left out, so that a test
can afford a run per fault."""
from __future__ import annotations

import shlex

from qsconform.conformance.engine.session import RunSession, reference_options
from qsconform.conformance.reporting.report import compliance_document
from qsconform.conformance.tools import cli
from qsconform.conformance.tools.options import namespace_value, run_config, selects


def run_command(command: str) -> dict:
    """The compliance document of `command` (a `qsconform run ...` line), with its rules judged in the spec's order."""
    words = shlex.split(command)
    assert words[:2] == ["qsconform", "run"], command
    ns = cli.build_parser().parse_args(words[1:])
    config = run_config(namespace_value(ns))
    spec = cli.spec_of(ns)
    chosen = [r for r in spec.rules if r.sent and selects(r, set(ns.rule), set(ns.level), set(ns.category))]
    session = RunSession(config, spec, server_options=reference_options(config, ns.reference_option))
    with session as run:
        for rule in chosen:
            run.judge_rule(rule)
    return compliance_document(run)
