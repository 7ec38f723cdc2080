"""What a conformance run is asked to do: the target, the examples, what fails it. A value read by every part, so it
imports nothing of theirs."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any


PROFILES: dict[str, dict[str, Any]] = {
    # max_examples: random examples per rule (a rule is one pytest test), after its boundary examples.
    # stateful_examples, stateful_steps: programs run by the lifecycle machine, and their length.
    # shrink_seconds: how long a failed rule's request is shrunk before the smallest found so far is
    # reported (None: until Hypothesis is done). Shrinking sends every candidate, so it is bounded.
    # How long each profile takes: docs/speed.md.
    "quick": {"max_examples": 3, "stateful_examples": 8, "stateful_steps": 8, "shrink_seconds": 1.0},
    "default": {"max_examples": 30, "stateful_examples": 30, "stateful_steps": 15, "shrink_seconds": 10.0},
    "thorough": {"max_examples": 200, "stateful_examples": 200, "stateful_steps": 30, "shrink_seconds": None},
}


@dataclass(frozen=True)
class RunConfig:
    target: str = "moto"
    region: str | None = None  # None: the region AWS configuration names, else us-east-1
    account_id: str | None = None
    namespace: str = "default"
    profile: str = "default"
    seed: int | None = None
    live: bool = False
    max_users: int = 20
    iam_arns: tuple[str, ...] = ()
    custom_permissions_name: str | None = None
    aws_profile: str | None = None
    faults: tuple[str, ...] = ()  # --target reference only
    max_examples: int | None = None  # overrides the profile's examples per rule (0: boundary examples only)
    shrink_seconds: float | None = None  # overrides the profile's shrinking time (math.inf: unbounded)
    strict: bool = False  # advisories (SHOULD deviations) fail the run too
    concurrency: int | None = None  # rules judged side by side (conformance/engine/side_by_side.py); None: the target's default
    # The command-line options that shaped the run, (flag, value) pairs (options.reproducing): a rerun carries them.
    options: tuple[tuple[str, object], ...] = ()
    prefix: str = field(default_factory=lambda: f"qsc-{secrets.token_hex(4)}-")
