"""The options of a conformance run, declared once for `qsconform run` (argparse) and for the pytest plugin.

`qsconform run` parses them, then hands them to pytest, whose plugin declares the same options, so
`pytest conformance/suite --target moto` takes them too. Help texts, defaults and choices live here only.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from qsconform.spec.model import CATEGORIES, LEVELS

PROFILES = ("quick", "default", "thorough")


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    kwargs: dict = field(default_factory=dict)  # argparse keywords: default, type, action, choices, metavar
    pytest_flag: str | None = None  # where pytest owns the flag (--strict: its markers)
    pytest_dest: str | None = None  # where a pytest plugin may own the name (--profile)

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def in_pytest(self) -> tuple[str, str]:
        """(flag, dest) in the pytest plugin."""
        return self.pytest_flag or self.flag, self.pytest_dest or self.dest


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"takes a whole number of at least 1, got {text!r}")
    return value


def count(text: str) -> int:
    """An argparse type: a whole number of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"takes a whole number of 0 or more, got {text!r}")
    return value


TARGET_OPTIONS = (
    Option("--target", "moto (default: started on loopback), reference, aws, or a base URL", {"default": "moto"}),
    Option("--region", "AWS region (default: AWS_REGION or the configured region, else us-east-1)"),
    Option("--account-id", "12-digit account id (default: the emulator's; for aws, the credentials')"),
    Option("--namespace", "QuickSight namespace (default: default)", {"default": "default"}),
    Option("--live", "allow a target where real users are created: not on loopback, or aws", {"action": "store_true"}),
    Option("--aws-profile", "credentials profile (default: the standard AWS chain)"),
)

RUN_OPTIONS = (
    Option("--profile", "examples per rule and shrinking time: quick (about 15 s locally), default (about a "
           "minute), thorough (nightly)", {"default": "default", "choices": PROFILES}, pytest_dest="qs_profile"),
    Option("--examples", "random examples per rule, instead of the profile's (0: the boundary examples alone)",
           {"type": count, "metavar": "N"}),
    Option("--seed", "seed that regenerates every request of a run", {"type": int}),
    Option("--concurrency", "rules judged side by side, to hide the network's round trips (default: 1 for a "
           "target the run starts itself, 8 for a URL, 2 for a live account)", {"type": positive_int, "metavar": "N"}),
    Option("--report-dir", "report directory (default reports/<target>-<timestamp>)"),
    Option("--max-users", "on live targets, create at most this many users (default 20)", {"type": count, "default": 20, "metavar": "N"}),
    Option("--iam-arn", "an IAM user or role ARN the run may register (repeatable)", {"action": "append", "default": []}),
    Option("--custom-permissions-name", "an existing custom permissions profile the run may assign"),
    Option("--fault", "with --target reference: switch on a named fault (repeatable)",
           {"action": "append", "default": []}),
    Option("--reference-option", "with --target reference: a variant option, e.g. constraint_error=ValidationException",
           {"action": "append", "default": [], "metavar": "NAME=VALUE"}),
    Option("--spec-dir", "spec directory (default: the installed spec)"),
    Option("--observations", "an observations file (`qsconform observe`) to judge by, besides those the spec ships "
           "(repeatable)", {"action": "append", "default": [], "metavar": "FILE"}),
    Option("--baseline", "accepted deviations: exit 0 unless one is new"),
    Option("--write-baseline", "record this run's failures and advisories as a baseline"),
    Option("--record", "store every request and answer as a normalised cassette"),
    Option("--shard", "i/N: run only the i-th of N deterministic shards of the rules (CI matrices)"),
    Option("--rule", "judge only this rule (repeatable; `qsconform rules` lists them); the rest are deselected",
           {"action": "append", "default": [], "metavar": "RULE_ID"}),
    Option("--level", "judge only the rules of this level (repeatable)",
           {"action": "append", "default": [], "choices": LEVELS, "type": str.upper}),
    Option("--category", "judge only the rules of this category (repeatable)",
           {"action": "append", "default": [], "choices": CATEGORIES}),
    Option("--strict", "advisories (deviations from what only an inference expects, level SHOULD) fail the run too",
           {"action": "store_true"}, pytest_flag="--strict-verdicts", pytest_dest="qs_strict"),
)


def add_to_argparse(parser: argparse.ArgumentParser, options) -> None:
    for o in options:
        parser.add_argument(o.flag, help=o.help, **o.kwargs)


def add_to_pytest(group, options) -> None:
    for o in options:
        flag, dest = o.in_pytest
        group.addoption(flag, dest=dest, help=o.help, **o.kwargs)


def as_pytest_args(ns: argparse.Namespace, options) -> list[str]:
    """The options a `qsconform run` was given, as the plugin's command-line arguments."""
    out: list[str] = []
    for o in options:
        value: Any = getattr(ns, o.dest)
        flag = o.in_pytest[0]
        if o.kwargs.get("action") == "store_true":
            out += [flag] if value else []
        elif o.kwargs.get("action") == "append":
            for item in value:
                out += [flag, str(item)]
        elif value is not None:
            out += [flag, str(value)]
    return out


def selects(rule, rule_ids, levels, categories) -> bool:
    """Whether --rule, --level and --category (each empty: any) keep a rule."""
    return ((not rule_ids or rule.id in rule_ids) and (not levels or rule.level in levels)
            and (not categories or rule.category in categories))


def parse_shard(value: str) -> tuple[int, int]:
    """--shard i/N as (i, N); ValueError, saying what it takes, otherwise."""
    try:
        index, count = (int(x) for x in value.split("/"))
        if 1 <= index <= count:
            return index, count
    except ValueError:
        pass
    raise ValueError(f"--shard takes i/N with 1 <= i <= N, got {value!r}")


def rerun_command(target: str | None, profile: str | None, seed: int | None, rule_id: str | None = None) -> str:
    """The command that runs one rule again against the same target, profile and seed: the same requests."""
    import shlex

    words = ["qsconform", "run"]
    for flag, value in (("--target", target), ("--profile", profile), ("--seed", seed)):
        if value is not None:
            words += [flag, str(value)]
    if rule_id:
        words += ["--rule", rule_id]
    return shlex.join(words)


def option_value(config, o_flag: str) -> Any:
    """The value of an option in a pytest session, by its qsconform flag."""
    option = next(o for o in TARGET_OPTIONS + RUN_OPTIONS if o.flag == o_flag)
    return config.getoption(option.in_pytest[1])
