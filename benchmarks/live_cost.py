"""What a live run costs: users registered (by role), roles changed, requests sent (by operation), examples held
back, rules judged, counted on the server's side, through the live path (`--target aws --live`,
AWS_ENDPOINT_URL_QUICKSIGHT at a reference server on loopback), with each run's plan as `run --dry-run` prints it.

    python3 benchmarks/live_cost.py [--profile quick default] [--seeds 1 2 3] [--max-users 20] [--loopback]

--loopback adds the same runs against the reference target itself (no budget, no live rules): what a run
registers when nothing holds it. Prints one line per run and a Markdown table (docs/live.md quotes it).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from live_runs import ACCOUNT, SPEC, counted, live_environment  # noqa: E402

from qsconform.conformance.engine import budget  # noqa: E402
from qsconform.conformance.engine.rule_runner import rule_examples  # noqa: E402
from qsconform.conformance.engine.run_config import PROFILES, RunConfig  # noqa: E402
from qsconform.conformance.engine.session import RunSession  # noqa: E402
from qsconform.conformance.reference import start_reference  # noqa: E402


def one(profile: str, seed: int, max_users: int, live: bool) -> dict:
    rules = [r for r in SPEC.rules if r.sent]
    with start_reference() as server, live_environment(server.url), counted(server) as (registered, changes):
        config = RunConfig(target="aws" if live else server.url, live=live, region="us-east-1", account_id=ACCOUNT,
                           profile=profile, seed=seed, max_users=max_users, concurrency=2)
        started = time.perf_counter()
        session = RunSession(config, SPEC)
        with session as run:
            session.judge_ahead(rules)
            for rule in rules:
                run.judge_rule(rule)
        seconds = time.perf_counter() - started
        registered, changes = list(registered), list(changes)
    plan = run.plan
    requests = Counter(run.transport.requests)
    estimate = None
    if live:
        p = PROFILES[profile]
        estimate = budget.estimate_requests(SPEC, plan, rules, lambda r: rule_examples(SPEC, run.strategy_config, plan, r),
                                            random_examples=p["max_examples"], programs=p["stateful_examples"],
                                            steps=p["stateful_steps"])
    judged = sum(r.status in ("passed", "failed", "advisory") for r in run.results.rules.values())
    return {"profile": profile, "seed": seed, "live": live, "users": len(registered),
            "roles": Counter(role for _, role in registered), "changes": changes, "requests": requests,
            "held_back": run.exchanger.spending.held_back, "judged": judged, "seconds": seconds,
            "planned": plan.planned() if plan is not None and plan.live else None,
            "estimate": sum(estimate.values()) if estimate else None,
            "examples": sum(r.tried for r in run.results.rules.values())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", nargs="+", default=["quick", "default"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--max-users", type=int, default=20)
    parser.add_argument("--loopback", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    rows = []
    for profile in args.profile:
        for seed in args.seeds:
            for live in (True, False) if args.loopback else (True,):
                row = one(profile, seed, args.max_users, live)
                rows.append(row)
                print(row, flush=True)
    print()
    print("| target | profile | seed | users registered (by role) | roles changed | requests sent | examples judged "
          "(held back) | rules judged | plan: users / requests estimated | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        roles = ", ".join(f"{k} {v}" for k, v in sorted(r["roles"].items(), key=lambda kv: -kv[1]))
        ops = ", ".join(f"{k} {v}" for k, v in sorted(r["requests"].items()))
        plan = f"{r['planned']} / {r['estimate']}" if r["live"] else "n/a"
        print(f"| {'live (aws)' if r['live'] else 'loopback'} | {r['profile']} | {r['seed']} | {r['users']} ({roles}) | "
              f"{len(r['changes'])} | {sum(r['requests'].values())} ({ops}) | {r['examples']} ({r['held_back']}) | "
              f"{r['judged']} | {plan} | {r['seconds']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
