"""Help that guides: every option of every command says what it does (a walk over every parser), `run --help`
is grouped and ends with examples and the exit codes, and one thing has one name across commands."""
from __future__ import annotations

import argparse
import re

import pytest

from qsconform.conformance.compare import cli as compare_cli
from qsconform.conformance.reference import command as reference_command
from qsconform.conformance.reporting.render import __main__ as render_command
from qsconform.conformance.tools import cli, exits
from qsconform.conformance.tools.options import GROUPS
from qsconform.spec import diff as spec_diff


def commands() -> dict[str, argparse.ArgumentParser]:
    """Every parser a user meets: qsconform's subcommands (compare and spec-diff parse their own arguments), the
    reference server and the renderer."""
    top = cli.build_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    out = {"qsconform": top, **{f"qsconform {name}": parser for name, parser in sub.choices.items()}}
    out["qsconform compare"] = compare_cli.build_parser()
    out["qsconform spec-diff"] = spec_diff.build_parser()
    out["python -m qsconform.conformance.reference"] = reference_command.parser()
    out["python -m qsconform.conformance.reporting.render"] = render_command.build_parser()
    return out


def shown(parser: argparse.ArgumentParser):
    """The arguments a parser's help shows (hidden aliases, help=SUPPRESS, left out)."""
    return [a for a in parser._actions if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)
            and not isinstance(a, argparse._VersionAction) and not isinstance(a, argparse._SubParsersAction)]


@pytest.mark.parametrize("name", list(commands()))
def test_every_option_of_every_command_has_help(name):
    parser = commands()[name]
    missing = [a.option_strings or [a.dest] for a in shown(parser) if not (a.help or "").strip()]
    assert missing == [], f"{name}: {missing}"
    assert parser.format_help()  # and it renders (a % in a help text would not)


def test_run_help_is_grouped_with_examples_and_exit_codes():
    run = commands()["qsconform run"]
    groups = {g.title: [(a.option_strings or [a.dest])[0] for a in g._group_actions] for g in run._action_groups
              if g._group_actions}
    assert list(GROUPS) == [title for title in groups if title in GROUPS]
    expected = {"target": ["--target", "--region", "--account-id", "--namespace", "--aws-profile"],
                "selection": ["--rule", "--level", "--category", "--shard"],
                "examples": ["--profile", "--examples", "--seed", "--concurrency", "-n"],
                "verdicts": ["--strict", "--baseline", "--spec-dir", "--observations"],
                "reports": ["--report-dir", "--write-baseline", "--record", "--alluredir", "-v"],
                "live safety": ["--live", "--max-users", "--iam-arn", "--custom-permissions-name"]}
    for group, flags in expected.items():
        assert set(flags) <= set(groups[group]), (group, groups[group])
    assert {"--fault", "--reference-option"} <= set(groups["target"])  # the reference server is a target
    text = run.format_help()
    assert "examples:" in text and "exit codes:" in text
    for code in (exits.OK, exits.FAILED, exits.USAGE, exits.UNREACHABLE, exits.INTERNAL, exits.INTERRUPTED):
        assert re.search(rf"^  {code} +\w", text, re.M), code
    examples = [line.split("#")[0].split() for line in text.splitlines() if line.startswith("  qsconform run")]
    assert len(examples) >= 5
    for example in examples:  # each example parses
        cli.build_parser().parse_args(example[1:])
    epilog = text[text.index("examples:"):]
    assert max(len(line) for line in epilog.splitlines()) <= 80


def test_the_reference_target_has_one_name_for_its_options_and_a_compared_target_another():
    run_flags = {o for a in shown(commands()["qsconform run"]) for o in a.option_strings}
    server_flags = {o for a in shown(commands()["python -m qsconform.conformance.reference"]) for o in a.option_strings}
    compare_flags = {o for a in shown(commands()["qsconform compare"]) for o in a.option_strings}
    assert "--reference-option" in run_flags & server_flags and "--variant-option" not in server_flags
    assert "--against" in compare_flags and "--reference" not in compare_flags
    # the old names still work, unshown
    assert reference_command.parser().parse_args(["--variant-option", "status_in_body=true"]).reference_option == \
        [("status_in_body", True)]
    assert compare_cli.build_parser().parse_args(["--reference", "moto"]).against == "moto"


def test_options_shared_by_commands_mean_the_same():
    """An option several commands take is spelled alike and, where its meaning is the run's, helped alike."""
    helps: dict[str, set[str]] = {}
    for name, parser in commands().items():
        for action in shown(parser):
            for flag in action.option_strings:
                helps.setdefault(flag, set()).add(action.help)
    for flag in ("--spec-dir", "--aws-profile", "--live"):
        assert len(helps[flag]) <= 3, (flag, helps[flag])
    assert not {"--variant-option", "--reference"} & set(helps)
