"""The options of a conformance run, declared once for `qsconform run` (argparse) and for the pytest plugin.

`qsconform run` parses them into `RunSettings` and hands those to pytest as a plugin object; the plugin
declares the same options only so that `pytest conformance/suite --target moto` takes them too. Help
texts, defaults and choices live here only.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from qsconform.conformance.engine.run_config import PROFILES, RunConfig
from qsconform.spec.model import CATEGORIES, LEVELS

# The groups `qsconform run --help` shows its options in, in this order, each with a line saying what it is for.
GROUPS = {
    "target": "what to test, and where",
    "selection": "which rules (the rest are deselected)",
    "examples": "how many requests, and which",
    "verdicts": "what the target is judged by, and what fails the run",
    "reports": "what the run writes and prints",
    "live safety": "first, do no harm (live targets: not on loopback, or aws)",
}


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    kwargs: dict = field(default_factory=dict)  # argparse keywords: default, type, action, choices, metavar
    pytest_flag: str | None = None  # where pytest owns the flag (--strict: its markers)
    pytest_dest: str | None = None  # where a pytest plugin may own the name (--profile)
    group: str = "target"  # where `run --help` lists it (GROUPS)
    # The option changes the target, the requests or the verdicts: compliance.json records it (target.options)
    # and the command that reruns a rule carries it, so that the rerun sends and judges what the run did.
    reproduces: bool = False

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
    Option("--region", "AWS region (default: AWS_REGION or the configured region, else us-east-1)", reproduces=True),
    Option("--account-id", "12-digit account id (default: the emulator's; for aws, the credentials')",
           reproduces=True),
    Option("--namespace", "QuickSight namespace (default: default)", {"default": "default"}, reproduces=True),
    Option("--live", "allow a target where real users are created: not on loopback, or aws", {"action": "store_true"},
           group="live safety", reproduces=True),
    Option("--aws-profile", "credentials profile (default: the standard AWS chain)", reproduces=True),
)

RUN_OPTIONS = (
    Option("--profile", "examples per rule and shrinking time: quick (about 15 s locally), default (about a "
           "minute), thorough (nightly)", {"default": "default", "choices": tuple(PROFILES)}, pytest_dest="qs_profile",
           group="examples"),
    Option("--examples", "random examples per rule, instead of the profile's (0: the boundary examples alone)",
           {"type": count, "metavar": "N"}, group="examples", reproduces=True),
    Option("--seed", "seed that regenerates every request of a run (the same qsconform version)", {"type": int},
           group="examples"),
    Option("--concurrency", "rules judged side by side, to hide the network's round trips (default: 1 for a "
           "target the run starts itself, 8 for a URL, 2 for a live account)", {"type": positive_int, "metavar": "N"},
           group="examples"),
    Option("--report-dir", "report directory (default reports/<target>-<timestamp>)", {"metavar": "DIR"},
           group="reports"),
    Option("--max-users", "on live targets, create at most this many users (default 20)",
           {"type": count, "default": 20, "metavar": "N"}, group="live safety", reproduces=True),
    Option("--iam-arn", "an IAM user or role ARN the run may register (repeatable)",
           {"action": "append", "default": [], "metavar": "ARN"}, group="live safety", reproduces=True),
    Option("--custom-permissions-name", "an existing custom permissions profile the run may assign",
           {"metavar": "NAME"}, group="live safety", reproduces=True),
    Option("--fault", "with --target reference: switch on a named fault (repeatable; "
           "python -m qsconform.conformance.reference --list-faults names them)",
           {"action": "append", "default": [], "metavar": "NAME"}, reproduces=True),
    Option("--reference-option", "with --target reference: a variant option, e.g. constraint_error=ValidationException "
           "(repeatable; python -m qsconform.conformance.reference --list-variants)",
           {"action": "append", "default": [], "metavar": "NAME=VALUE"}, reproduces=True),
    Option("--spec-dir", "spec directory (default: the installed spec)", {"metavar": "DIR"}, group="verdicts",
           reproduces=True),
    Option("--observations", "an observations file (`qsconform observe`) to judge by, besides those the spec ships "
           "(repeatable)", {"action": "append", "default": [], "metavar": "FILE"}, group="verdicts", reproduces=True),
    Option("--baseline", "accepted deviations: exit 0 unless one is new", {"metavar": "FILE"}, group="verdicts"),
    Option("--write-baseline", "record this run's failures and advisories as a baseline", {"metavar": "FILE"},
           group="reports"),
    Option("--record", "store every request and answer as a normalised cassette", {"metavar": "FILE"},
           group="reports"),
    Option("--shard", "i/N: run only the i-th of N deterministic shards of the rules (CI matrices)",
           {"metavar": "I/N"}, group="selection"),
    Option("--rule", "judge only this rule (repeatable; `qsconform rules` lists them); the rest are deselected",
           {"action": "append", "default": [], "metavar": "RULE_ID"}, group="selection"),
    Option("--level", "judge only the rules of this level (repeatable)",
           {"action": "append", "default": [], "choices": LEVELS, "type": str.upper}, group="selection"),
    Option("--category", "judge only the rules of this category (repeatable)",
           {"action": "append", "default": [], "choices": CATEGORIES}, group="selection"),
    Option("--strict", "advisories (deviations from what only an inference expects, level SHOULD) fail the run too",
           {"action": "store_true"}, pytest_flag="--strict-verdicts", pytest_dest="qs_strict", group="verdicts",
           reproduces=True),
)


def add_to_argparse(parser: argparse.ArgumentParser, options, grouped: bool = False) -> dict:
    """Declare `options` on an argparse parser; `grouped`: in the argument groups of GROUPS (their order), which
    are returned by name so that a command can add options of its own to them."""
    groups = {name: parser.add_argument_group(name, what) for name, what in GROUPS.items()} if grouped else {}
    for o in options:
        groups.get(o.group, parser).add_argument(o.flag, help=o.help, **o.kwargs)
    return groups


def add_to_pytest(group, options) -> None:
    for o in options:
        flag, dest = o.in_pytest
        group.addoption(flag, dest=dest, help=o.help, **o.kwargs)


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


def reproducing(value: Callable[[str], Any], options=None) -> dict[str, Any]:
    """The options of a run that shape what it sends and how it judges, as {flag: value}, in declared order: those
    given a value other than their default (`value(flag)` reads one). compliance.json keeps them (target.options)."""
    out: dict[str, Any] = {}
    for o in options if options is not None else TARGET_OPTIONS + RUN_OPTIONS:
        if not o.reproduces:
            continue
        given = value(o.flag)
        if isinstance(given, (list, tuple)):
            given = list(given)
        if given is not None and given is not False and given != [] and given != o.kwargs.get("default"):
            out[o.flag] = given
    return out


def rerun_command(target: str | None, profile: str | None, seed: int | None, rule_id: str | None = None,
                  options: Mapping[str, Any] | None = None) -> str:
    """The command that runs one rule again as the run did: the same target and the options that shaped it (faults,
    reference options, --examples, --strict...: `options`, as `reproducing` gives them), profile and seed."""
    import shlex

    words = ["qsconform", "run"]
    if target is not None:
        words += ["--target", str(target)]
    for flag, value in (options or {}).items():
        if value is True:
            words.append(flag)
        else:
            for item in value if isinstance(value, list) else [value]:
                words += [flag, str(item)]
    for flag, value in (("--profile", profile), ("--seed", seed)):
        if value is not None:
            words += [flag, str(value)]
    if rule_id:
        words += ["--rule", rule_id]
    return shlex.join(words)


def run_config(value: Callable[[str], Any], **extra) -> RunConfig:
    """The RunConfig of a run whose options `value(flag)` reads (a parsed `qsconform run` or `probe`, or the pytest
    plugin's own options)."""
    return RunConfig(target=value("--target"), region=value("--region"), account_id=value("--account-id"),
                     namespace=value("--namespace"), profile=value("--profile"), seed=value("--seed"),
                     live=bool(value("--live")), max_users=value("--max-users"), iam_arns=tuple(value("--iam-arn")),
                     custom_permissions_name=value("--custom-permissions-name"), aws_profile=value("--aws-profile"),
                     faults=tuple(value("--fault")), max_examples=value("--examples"), strict=bool(value("--strict")),
                     concurrency=value("--concurrency"),
                     options=tuple((flag, tuple(v) if isinstance(v, list) else v)
                                   for flag, v in reproducing(value).items()), **extra)


@dataclass(frozen=True)
class RunSettings:
    """Everything a conformance run takes from its options, read once: the RunConfig, and what the pytest plugin
    does around it (the spec, the selection, the reports). `qsconform run` builds it from its command line and
    hands it to pytest in a plugin object; an xdist worker receives it as a JSON-able dict (`as_dict`)."""

    config: RunConfig
    report_dir: str | None = None  # None: reports/<target>-<timestamp>, chosen where the session starts
    spec_dir: str | None = None
    observations: tuple[str, ...] = ()
    reference_options: tuple[str, ...] = ()  # NAME=VALUE, as --reference-option gives them
    rules: tuple[str, ...] = ()  # --rule, --level, --category: empty, any
    levels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    shard: str | None = None  # i/N, as given
    baseline: str | None = None
    write_baseline: str | None = None
    record: str | None = None

    def as_dict(self) -> dict:
        """JSON-able (lists for tuples): what an xdist worker receives in its workerinput."""
        from dataclasses import asdict

        return _lists(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSettings:
        values = {k: _tuples(v) for k, v in data.items()}
        return cls(**{**values, "config": RunConfig(**values["config"])})


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return [_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def _tuples(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def run_settings(value: Callable[[str], Any]) -> RunSettings:
    """The RunSettings of a run whose options `value(flag)` reads: a parsed `qsconform run` (namespace_value), or
    the pytest plugin's options under plain `pytest conformance/suite` (option_value)."""
    return RunSettings(config=run_config(value), report_dir=value("--report-dir"), spec_dir=value("--spec-dir"),
                       observations=tuple(value("--observations")),
                       reference_options=tuple(value("--reference-option")), rules=tuple(value("--rule")),
                       levels=tuple(value("--level")), categories=tuple(value("--category")), shard=value("--shard"),
                       baseline=value("--baseline"), write_baseline=value("--write-baseline"), record=value("--record"))


def worker_settings(settings: RunSettings, worker: str, count: int) -> RunSettings:
    """An xdist worker's share of a run: a run of its own, whose users are named apart and which takes its part
    of --max-users."""
    cfg, index = settings.config, int(worker.lstrip("gw") or 0)
    return replace(settings, config=replace(cfg, prefix=f"{cfg.prefix}{worker}-",
                                            max_users=cfg.max_users // count + (index < cfg.max_users % count)))


def namespace_value(ns: argparse.Namespace) -> Callable[[str], Any]:
    """`value(flag)` over a parsed command (options.run_config and reproducing read it); an option the command
    does not take (a probe has no --profile) reads as its default."""
    def value(flag: str) -> Any:
        option = next(o for o in TARGET_OPTIONS + RUN_OPTIONS if o.flag == flag)
        return getattr(ns, option.dest, option.kwargs.get("default"))
    return value


def option_value(config, o_flag: str) -> Any:
    """The value of an option in a pytest session, by its qsconform flag."""
    option = next(o for o in TARGET_OPTIONS + RUN_OPTIONS if o.flag == o_flag)
    return config.getoption(option.in_pytest[1])
