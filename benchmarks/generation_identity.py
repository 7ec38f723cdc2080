"""What the strategies generate for fixed seeds, as digests: run it before and after a change to generation
that must not change what is generated (a speed-up), and compare.

    python3 benchmarks/generation_identity.py [-n 25] [--seeds 0 1 2] [--output FILE] [--check FILE]
    python3 benchmarks/generation_identity.py --record-choices FILE    # with the code before the change
    python3 benchmarks/generation_identity.py --replay-choices FILE    # with the code after it

For each operation and each of a few configurations (local, live-safe, configured IAM ARNs and profile),
it draws `n` examples with each seed from every strategy a run draws from (valid requests, all invalid
ones, the invalid ones of each rule, both mixed) as a run does (`@given`, `@seed`, no database, generate
phase), `n` more the way benchmarks/overhead.py does (`hypothesis.find`, derandomized), and takes the boundary examples;
each request is written down whole (operation, URI labels, body bytes, expected outcome, notes). Prints one
digest per strategy and a last line `generation_digest=<hex>`. `--output` writes the digests to a JSON file,
`--check` compares with such a file and exits 1 naming the strategies whose requests differ.

A change may keep what each sequence of Hypothesis choices gives and still change the digests: Hypothesis's
engine picks its next choices by the shape of the previous examples (their spans), so drawing the same
values through fewer nested strategies changes what a seed generates. `--record-choices` writes, for every
example drawn with `@given`, its choice sequence and the request it gave; `--replay-choices` draws each
recorded sequence again (hypothesis.internal's ConjectureData.for_choices) and exits 1 if any gives another
request (or none).

The digests depend on the Hypothesis version (its engine decides which choices are made): compare runs
in one environment.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

from hypothesis import HealthCheck, Phase, find, given, seed, settings
from hypothesis import strategies as st
from hypothesis.control import BuildContext, current_build_context
from hypothesis.errors import StopTest, UnsatisfiedAssumption
from hypothesis.internal.conjecture.data import ConjectureData

from qsconform import strategies
from qsconform.spec.loader import default_spec

SPEC = default_spec()
CONFIGS = {
    "local": strategies.StrategyConfig(user_prefix="qsc-1a2b3c4d-"),
    "live-safe": strategies.StrategyConfig(user_prefix="qsc-1a2b3c4d-", synthetic_iam_arns=False, live_safe=True),
    "configured": strategies.StrategyConfig(account_id="111122223333", user_prefix="qsc-0f0f0f0f-", live_safe=True,
                                            iam_arns=("arn:aws:iam::111122223333:role/embedding",
                                                      "arn:aws:iam::111122223333:user/someone"),
                                            custom_permissions_name="qsc-profile"),
}


def describe(request) -> str:
    e = request.expected
    return json.dumps([request.operation, request.path_params, request.body_bytes().decode("utf-8", "surrogatepass"),
                       request.ascii_json, e.kind, e.rule_id, list(e.co_broken), [list(a) for a in e.answers],
                       e.operator, e.level, e.answers_level, list(request.notes)], sort_keys=True)


def given_draws(strategy, n: int, seed_: int, record: list | None = None) -> list[str]:
    out: list[str] = []

    @seed(seed_)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(request):
        out.append(describe(request))
        if record is not None:
            record.append({"request": out[-1],
                           "choices": [[type(c).__name__, c.hex() if isinstance(c, bytes) else c]
                                       for c in current_build_context().data.choices]})

    collect()
    return out


def find_draws(strategy, n: int) -> list[str]:
    out: list[str] = []

    def enough(request) -> bool:
        out.append(describe(request))
        return len(out) >= n

    try:
        find(strategy, enough, settings=settings(max_examples=n * 5, database=None, phases=[Phase.generate],
                                                 derandomize=True, deadline=None,
                                                 suppress_health_check=list(HealthCheck)))
    except Exception as exc:  # an empty strategy: what it raised is the outcome
        out.append(type(exc).__name__)
    return out


def digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def strategies_of(operation: str, config) -> dict:
    out = {"valid": strategies.valid_requests(operation, config, spec=SPEC),
           "invalid": strategies.invalid_requests(operation, config, spec=SPEC)}
    out["valid|invalid"] = st.one_of(out["valid"], out["invalid"])
    for rule_id in sorted(strategies.rules_with_generators(operation, spec=SPEC)):
        out[f"invalid:{rule_id}"] = strategies.invalid_requests(operation, config, rule_id=rule_id, spec=SPEC)
    return out


def _choice(encoded):
    kind, value = encoded
    return bytes.fromhex(value) if kind == "bytes" else {"bool": bool, "int": int, "float": float, "str": str}[kind](value)


def replay(strategy, choices: list) -> str:
    """The request a recorded choice sequence gives now."""
    data = ConjectureData.for_choices([_choice(c) for c in choices])
    try:
        with BuildContext(data, is_final=False, wrapped_test=replay):
            return describe(data.draw(strategy))
    except (StopTest, UnsatisfiedAssumption):
        return "no request: the choices run out or are refused"


def all_strategies():
    for operation in sorted(SPEC.operations):
        for config_name, config in CONFIGS.items():
            for label, strategy in strategies_of(operation, config).items():
                yield f"{operation}/{config_name}/{label}", strategy


def record_choices(path: str, n: int, seeds: list[int]) -> int:
    recorded = {}
    for key, strategy in all_strategies():
        record: list = []
        for s in seeds:
            try:
                given_draws(strategy, n, s, record)
            except Exception:  # Unsatisfiable for a rule this configuration cannot break
                pass
        recorded[key] = record
    with open(path, "w") as f:
        json.dump(recorded, f)
    print(f"recorded {sum(map(len, recorded.values()))} choice sequences to {path}")
    return 0


def replay_choices(path: str) -> int:
    with open(path) as f:
        recorded = json.load(f)
    differ = total = 0
    for key, strategy in all_strategies():
        for entry in recorded.get(key, []):
            total += 1
            got = replay(strategy, entry["choices"])
            if got != entry["request"]:
                differ += 1
                if differ <= 10:
                    print(f"differs: {key}\n  was {entry['request']}\n  now {got}", file=sys.stderr)
    print(f"{total - differ} of {total} recorded choice sequences give the same request")
    return 1 if differ or not total else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=25, help="examples per strategy and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", help="write the digests to this JSON file")
    parser.add_argument("--check", help="compare with the digests in this JSON file")
    parser.add_argument("--record-choices", metavar="FILE", help="write each example's choices and request to FILE")
    parser.add_argument("--replay-choices", metavar="FILE", help="replay the choices in FILE, compare the requests")
    args = parser.parse_args()
    if args.record_choices:
        return record_choices(args.record_choices, args.n, args.seeds)
    if args.replay_choices:
        return replay_choices(args.replay_choices)

    started = time.perf_counter()
    digests: dict[str, str] = {}
    for operation in sorted(SPEC.operations):
        for config_name, config in CONFIGS.items():
            name = f"{operation}/{config_name}"
            digests[f"{name}/boundaries"] = digest([describe(r) for r in strategies.boundary_examples(operation, config, spec=SPEC)])
            for label, strategy in strategies_of(operation, config).items():
                lines = []
                for s in args.seeds:
                    try:
                        lines += given_draws(strategy, args.n, s)
                    except Exception as exc:  # Unsatisfiable for a rule this configuration cannot break
                        lines.append(type(exc).__name__)
                if label in ("valid", "invalid", "valid|invalid"):
                    lines += find_draws(strategy, args.n)
                digests[f"{name}/{label}"] = digest(lines)
    for key, value in digests.items():
        print(f"{value}  {key}")
    total = digest([f"{k}={v}" for k, v in digests.items()])
    print(f"{len(digests)} strategies in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"digests": digests, "generation_digest": total}, f, indent=1)
    print(f"generation_digest={total}")
    if args.check:
        with open(args.check) as f:
            expected = json.load(f)["digests"]
        differ = sorted(k for k in expected.keys() | digests.keys() if expected.get(k) != digests.get(k))
        for key in differ:
            print(f"differs: {key}", file=sys.stderr)
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
