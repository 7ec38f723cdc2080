"""What a run may register on a live account, planned before any rule starts (docs/live.md, "The plan").

QuickSight bills by user, so a live run gives every user the cheapest role (but for the rules about the role)
and spends --max-users where it judges most: packed boundary registrations first, updates on a few prepared
users, a quota per lifecycle rule, the rest on random registrations. A rule stops on its own count, never on
the run's, so verdicts do not depend on which rule ran first; --max-users stays the last guard.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable

from requests.structures import CaseInsensitiveDict

from qsconform import strategies
from qsconform.conformance.judging.checks import NOT_APPLICABLE, Exchange, run_check, user_name_of
from qsconform.spec.model import ResponseRule, Rule, Spec
from qsconform.spec.request import Request
from qsconform.strategies.boundaries import role_examples
from qsconform.strategies.config import ROLE_SHAPES, StrategyConfig
from qsconform.strategies.context import context_for
from qsconform.strategies.packing import Packed, pack

# QuickSight's price per user and month, cheapest first: Reader, Reader Pro, Author (an admin is priced as an
# author), Author Pro (and admin Pro). A live run registers and updates with the first the spec allows; the rule
# about updating a role changes a user to the next.
ROLE_COST_ORDER = ("READER", "READER_PRO", "AUTHOR", "ADMIN", "AUTHOR_PRO", "ADMIN_PRO")
# Registrations a rule may see a live target accept though it should refuse them: the first judges the rule
# (failed), more would only cost users.
ACCEPTED_ALLOWANCE = 1
# Kept out of the plan for a registration it does not expect: one an invalid request made, a user restored. An
# invalid registration is sent only while there is room for it (the target may accept it): without any, the
# rules that send them are not judged.
SPARE = 1
# The send rate a dry run's estimate assumes (requests a second). QuickSight throttles its user APIs per
# account; the adaptive rate (conformance/wire/transport.py) settles below where the account throttles.
ESTIMATED_RATE = 5.0
IAM_WHY = "needs an IAM identity this run lacks: give --iam-arn (an IAM user or role ARN it may register)"


def role_member(spec: Spec, operation: str) -> str | None:
    """The member of an operation that gives a user its role (UserRole, UpdateUser's Role), or None."""
    return next((m.name for m in spec[operation].members.values()
                 if m.shape in ROLE_SHAPES and "enum" in m.constraints), None)


def roles_by_cost(spec: Spec) -> list[str]:
    """The roles the spec allows a registration, cheapest first (those whose price is unknown last)."""
    member = role_member(spec, spec.setup_operation)
    values = list(spec[spec.setup_operation].members[member].constraints["enum"]) if member else []
    return sorted(values, key=lambda v: ROLE_COST_ORDER.index(v) if v in ROLE_COST_ORDER else len(ROLE_COST_ORDER))


def live_config(spec: Spec, config: StrategyConfig) -> StrategyConfig:
    """The strategies' configuration on a live target: every valid request gives the cheapest role."""
    roles = roles_by_cost(spec)
    return replace(config, user_roles=tuple(roles[:1])) if roles else config


@dataclass
class Plan:
    """A run's registrations, decided before it sends anything."""

    live: bool
    max_users: int
    registrations: tuple[Request, ...] = ()  # sent before the rules start; each a user (live targets)
    purposes: tuple[str, ...] = ()  # what each registration is for
    prepared: tuple[str, ...] = ()  # the users the operations that update name
    boundary_held_back: int = 0  # valid boundary examples left out of the registrations
    quotas: dict[str, int] = field(default_factory=dict)  # rule id -> random registrations it may send
    lifecycle: dict[str, int] = field(default_factory=dict)  # lifecycle rule id -> registrations its programs may make
    random: dict[str, int] = field(default_factory=dict)  # random registrations, by the rules that draw them alike
    spare: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # rule id -> why it is not judged
    role_change: str | None = None  # the role the one role-changing update gives

    def planned(self) -> int:
        """The registrations the plan may make on a target that refuses what it should (at most)."""
        return len(self.registrations) + sum(self.lifecycle.values()) + sum(self.random.values())

    def roles(self, spec: Spec) -> Counter:
        """The planned registrations by role (random and lifecycle ones at the cheapest role)."""
        member = role_member(spec, spec.setup_operation)
        out = Counter(str(r.params().get(member) if member is not None else None) for r in self.registrations)
        cheapest = (roles_by_cost(spec) or ["?"])[0]
        out[cheapest] += sum(self.lifecycle.values()) + sum(self.random.values())
        return +out

    def is_planned(self, request: Request) -> bool:
        return any(request is r or _key(request) == _key(r) for r in self.registrations)


def _key(request: Request) -> tuple:
    return request.operation, tuple(sorted(request.path_params.items())), request.body_bytes()


def plan_run(spec: Spec, config: StrategyConfig, rules: Iterable[Rule], *, live: bool, max_users: int,
             random_examples: int, programs: int) -> Plan:
    """The plan of a run judging `rules` with the strategies' `config` (on a live target: live_config's).
    `random_examples`: random examples per rule; `programs`: random programs per lifecycle rule."""
    rules = [r for r in rules if r.sent]
    skipped = identity_skips(spec, config, rules)
    judged = [r for r in rules if r.id not in skipped]
    if not live:
        return Plan(live=False, max_users=max_users, skipped=skipped)
    create = spec.setup_operation
    updates = [op.name for op in spec.operations.values() if op.setup is not None]
    registers_valid = [r for r in judged if r.operation == create and isinstance(r, ResponseRule) and r.judges(valid=True)]
    needs_user = [r for r in judged if r.operation in updates and r.kind != "lifecycle" and not _own_name_rule(spec, r)]
    lifecycle = [r for r in judged if r.kind == "lifecycle"]
    sends_registrations = any(r.operation == create and r.kind != "lifecycle" for r in judged)

    packed, left_out = registrations_packed(spec, config)
    name_member = _user_name_member(spec)
    role = role_member(spec, create)
    identity = identity_members(spec, create)
    by = lambda *members: [p for p in packed if p.opened_by in members]  # noqa: E731
    budget = max(max_users, 0)
    chosen: list[tuple[Packed, str]] = []
    lifecycle_quota: dict[str, int] = {}

    def take(items: list[Packed], purpose: str) -> None:
        nonlocal budget
        for p in items:
            if budget > 0:
                chosen.append((p, purpose))
                budget -= 1

    cheapest = next(iter(roles_by_cost(spec)), None)
    updatable = lambda p: (p.request.expected.level == "MUST" and p.request.params().get(role) == cheapest  # noqa: E731
                           and isinstance(p.request.params().get(name_member), str))
    if registers_valid:
        take(by(""), "the simplest valid registration")
    if needs_user and not any(updatable(p) for p, _ in chosen):  # the simplest registration may be an IAM identity's
        take([p for p in packed if updatable(p)][:1], "a user to update")
    spare = min(SPARE, budget) if sends_registrations else 0
    budget -= spare
    for rule in lifecycle:
        if budget > 0:
            lifecycle_quota[rule.id], budget = 1, budget - 1
    if registers_valid:
        take([p for p in by(*(identity - {name_member, role})) if id(p) not in {id(q) for q, _ in chosen}],
             "an identity class")
        take(by(role), "a role value")
    # The user-name classes judge the answers to valid requests, registrations' and updates' alike.
    if registers_valid or any(isinstance(r, ResponseRule) and r.judges(valid=True) for r in needs_user):
        take([p for p in by(name_member) if id(p) not in {id(q) for q, _ in chosen}], "a user-name class")
    pools = _random_pools(judged, create, random_examples, programs, lifecycle_quota, budget)
    if sends_registrations:  # what no rule wants: room for registrations the plan does not expect
        spare += budget - sum(pools.values())
    quotas = {r.id: pools.get(_pool_of(r), 0) for r in registers_valid}
    for rule_id in lifecycle_quota:
        lifecycle_quota[rule_id] += pools.get(rule_id, 0)
    random = {k: v for k, v in pools.items() if k not in lifecycle_quota}

    prepared = tuple(name for p, _ in chosen if updatable(p) and (name := user_name_of(p.request)) is not None)
    chosen_ids = {id(p) for p, _ in chosen}
    held = len([e for e in left_out if e.expected.is_success]) + sum(len(p.examples) for p in packed
                                                                     if id(p) not in chosen_ids)
    why = f"--max-users {max_users} leaves no registration for it on a live target"
    for rule in registers_valid if not any(p.opened_by == "" for p, _ in chosen) else ():
        skipped[rule.id] = why
    for rule in needs_user if not prepared else ():
        skipped[rule.id] = why
    for rule in lifecycle:
        if rule.id not in lifecycle_quota:
            skipped[rule.id] = why
    if sends_registrations and not spare:
        for rule in judged:
            if rule.operation == create and (rule.is_input or (isinstance(rule, ResponseRule) and rule.judges(valid=False))):
                skipped.setdefault(rule.id, f"--max-users {max_users} leaves no room for an invalid registration "
                                            "the target might accept")
    costs = roles_by_cost(spec)
    return Plan(live=True, max_users=max_users, registrations=tuple(p.request for p, _ in chosen),
                purposes=tuple(purpose for _, purpose in chosen), prepared=prepared, boundary_held_back=held,
                quotas=quotas, lifecycle=lifecycle_quota, random=random, spare=spare, skipped=skipped,
                role_change=costs[1] if len(costs) > 1 else None)


def registrations_packed(spec: Spec, config: StrategyConfig) -> tuple[list[Packed], list[Request]]:
    """The creating operation's valid boundary examples and one per role value, packed (strategies/packing.py)."""
    create = spec.setup_operation
    examples = [r for r in strategies.boundary_examples(create, config, spec=spec) if r.expected.is_success]
    examples += role_examples(create, config, spec=spec)
    name_member, role = _user_name_member(spec), role_member(spec, create)
    opening = identity_members(spec, create) | {name_member, role}
    return pack(context_for(create, config, spec), examples, frozenset(m for m in opening if m),
                apart=[frozenset(m for m in (name_member, role) if m)], names=name_member)


def identity_members(spec: Spec, operation: str) -> set[str]:
    """The members that decide a registration's identity class: those a cross-field rule's `when` asks to be one
    of some values or to match a pattern (IdentityType, ExternalLoginFederationProviderType, IamArn)."""
    out = set()
    for rule in spec[operation].rules_of("cross"):
        out |= {name for name, cond in rule.when.items() if isinstance(cond, dict) and ("in" in cond or "pattern" in cond)}
    return out


def _user_name_member(spec: Spec) -> str | None:
    """The member naming a user: the one the operations that act on a user name it by (UserName)."""
    return next((op.setup.member for op in spec.operations.values() if op.setup is not None), None)


def _own_name_rule(spec: Spec, rule: Rule) -> bool:
    """A rule about the user-name member's own constraints: its requests name no user that can exist."""
    setup = spec[rule.operation].setup
    return setup is not None and rule.id.startswith(f"{rule.operation}.{setup.member}.")


def _pool_of(rule: ResponseRule) -> str:
    """Rules whose random examples are drawn alike (the same strategy and seed) share their registrations."""
    return f"{rule.operation} {'valid and invalid' if rule.judges(valid=False) else 'valid'} requests"


def _random_pools(judged: list[Rule], create: str, random_examples: int, programs: int,
                  lifecycle: dict[str, int], budget: int) -> dict[str, int]:
    """What is left of the budget, one registration at a time to each pool in turn, as long as it wants more."""
    wants: dict[str, int] = {}
    for rule in judged:
        if rule.operation == create and isinstance(rule, ResponseRule) and rule.judges(valid=True):
            wants[_pool_of(rule)] = random_examples
    for rule_id in lifecycle:
        wants[rule_id] = programs
    out = dict.fromkeys(wants, 0)
    while budget > 0 and any(out[k] < wants[k] for k in wants):
        for key in wants:
            if budget > 0 and out[key] < wants[key]:
                out[key] += 1
                budget -= 1
    return {k: v for k, v in out.items() if v}


# -- rules a configuration cannot judge -----------------------------------------------------------

def identity_skips(spec: Spec, config: StrategyConfig, rules: Iterable[Rule]) -> dict[str, str]:
    """The rules that need an IAM identity the configuration lacks (a live target without --iam-arn): input
    rules with no request that breaks them alone, response rules about IAM identities only."""
    if config.may_synthesise_arns or config.iam_arns:
        return {}
    synthetic = replace(config, synthetic_iam_arns=True, live_safe=False, user_roles=())
    out = {}
    for rule in rules:
        if not rule.sent or rule.kind == "lifecycle":
            continue
        if rule.is_input:
            here = [r for r in strategies.boundary_examples(rule.operation, config, spec=spec) if r.expected.rule_id == rule.id]
            there = [r for r in strategies.boundary_examples(rule.operation, synthetic, spec=spec) if r.expected.rule_id == rule.id]
            if there and not here:
                out[rule.id] = IAM_WHY
        elif isinstance(rule, ResponseRule) and rule.judges(valid=True) and _about_iam_only(spec, rule, config, synthetic):
            out[rule.id] = IAM_WHY
    return out


def _about_iam_only(spec: Spec, rule: ResponseRule, config: StrategyConfig, synthetic: StrategyConfig) -> bool:
    """Whether a response rule speaks of no valid request this configuration makes, and of some a configuration
    with IAM identities makes (judged against an empty answer: a check that speaks of a request reads it)."""
    from qsconform.conformance.wire.protocol import Answer

    answer = Answer(status=200, headers=CaseInsensitiveDict(), body=b"{}", elapsed=0.0, protocol=spec.protocol)

    def speaks(cfg: StrategyConfig) -> bool:
        for request in strategies.boundary_examples(rule.operation, cfg, spec=spec):
            if request.expected.is_success:
                found = run_check(rule, Exchange(spec[rule.operation], request, answer, "us-east-1"))
                if found is not NOT_APPLICABLE:
                    return True
        return False

    return not speaks(config) and speaks(synthetic)


class Spending:
    """What a run spent on its target, as it happens: registrations the target accepted, by role. Thread-safe.
    Requests are counted by the transport, deletions by the ledger."""

    def __init__(self):
        import threading

        self._lock = threading.Lock()
        self.by_role: Counter = Counter()
        self.held_back = 0  # examples not sent for want of registrations (their rules' quotas)

    def registered(self, role) -> None:
        with self._lock:
            self.by_role[str(role) if isinstance(role, str) else "(none)"] += 1

    def hold_back(self) -> None:
        with self._lock:
            self.held_back += 1

    @property
    def registrations(self) -> int:
        with self._lock:
            return sum(self.by_role.values())

    def document(self, plan: Plan | None, requests: Counter, deleted: int) -> dict:
        """compliance.json's `cost`."""
        with self._lock:
            by_role = dict(sorted(self.by_role.items()))
            held_back = self.held_back
        out = {"users_registered": sum(by_role.values()), "users_registered_by_role": by_role,
               "users_deleted": deleted, "requests_sent": sum(requests.values()),
               "requests_by_operation": dict(sorted(requests.items())), "examples_held_back": held_back}
        if plan is not None and plan.live:
            out.update(max_users=plan.max_users, registrations_planned=plan.planned(),
                       boundary_examples_held_back=plan.boundary_held_back)
        return out


# -- a plan before anything is sent (qsconform run --dry-run) --------------------------------------

# Of a lifecycle program's steps, the share that sends a request: all but those whose user was never registered
# (or was deleted); where no registration is left to a rule's programs, only its steps on a missing user do.
_STEPS_SENDING, _STEPS_SENDING_UNREGISTERED = 0.6, 0.2


def estimate_requests(spec: Spec, plan: Plan, rules: Iterable[Rule], examples_of, *, random_examples: int,
                      programs: int, steps: int) -> Counter:
    """The requests a run would send, by operation (an estimate): each distinct boundary example once (rules share
    answers), the random examples of each rule (once for rules that draw alike; registrations beyond a quota held
    back), the lifecycle programs, and a DeleteUser for each user at the end. `examples_of(rule)`: its boundary
    examples."""
    create = spec.setup_operation
    update = next((op.name for op in spec.operations.values() if op.setup is not None), create)
    rules = [r for r in rules if r.sent and r.id not in plan.skipped]
    out: Counter = Counter({"DescribeUser": 1, "DeleteUser": 1})  # whether the target offers them, asked once
    seen, pools = set(), set()
    for rule in rules:
        if rule.kind == "lifecycle":
            out[create] += 2  # the canonical program: register, register again, update, describe, update a
            out[update] += 3  # missing user, delete, update the deleted user
            out["DescribeUser"] += 1
            out["DeleteUser"] += 1
            may_register = not plan.live or plan.lifecycle.get(rule.id, 0) > 1
            share = _STEPS_SENDING if may_register else _STEPS_SENDING_UNREGISTERED
            out[update] += round(programs * steps * share)
            continue
        for request in examples_of(rule):
            key = _key(request)
            if key not in seen:
                seen.add(key)
                out[request.operation] += 1
        if isinstance(rule, ResponseRule):
            if _pool_of(rule) in pools:
                continue
            pools.add(_pool_of(rule))
        n = random_examples
        if plan.live and rule.operation == create and isinstance(rule, ResponseRule) and not rule.judges(valid=False):
            n = min(n, plan.quotas.get(rule.id, 0))  # valid registrations beyond the quota are held back
        out[rule.operation] += n
    out["DeleteUser"] += plan.planned() if plan.live else out[create] // 2
    return +out


def describe(spec: Spec, plan: Plan, rules: Iterable[Rule], requests: Counter) -> list[str]:
    """The plan as `qsconform run --dry-run` prints it."""
    rules = list(rules)
    lines = []
    if plan.live:
        roles = ", ".join(f"{role} {n}" for role, n in plan.roles(spec).items())
        lines.append(f"registrations: {plan.planned()} planned ({roles or 'none'}), and room for {plan.spare} the "
                     f"plan does not expect (an invalid registration the target accepts); never more than "
                     f"--max-users {plan.max_users}")
        purposes = Counter(plan.purposes)
        if plan.registrations:
            lines.append(f"  {len(plan.registrations)} before the rules start, each judged by every response rule: "
                         + ", ".join(f"{p} {n}" for p, n in purposes.items()))
        if plan.lifecycle:
            random = sum(plan.lifecycle.values()) - len(plan.lifecycle)
            lines.append(f"  {len(plan.lifecycle)} for the lifecycle rules' canonical programs, {random} for their "
                         "random programs")
        if plan.random:
            lines.append("  random valid registrations: " + ", ".join(f"{k} {n}" for k, n in plan.random.items()))
        if plan.boundary_held_back:
            lines.append(f"  {plan.boundary_held_back} valid boundary example(s) held back: they fit in none of "
                         "these registrations")
        if plan.prepared:
            change = f"; one update changes a role (to {plan.role_change})" if plan.role_change else ""
            lines.append(f"updates act on {len(plan.prepared)} of those users ({roles_by_cost(spec)[0]}){change}")
    else:
        lines.append("registrations: as drawn (--max-users applies to live targets only)")
    lines.append("requests (estimated): " + ", ".join(f"{op} {n}" for op, n in sorted(requests.items()))
                 + f"; {sum(requests.values())} in all")
    judged = [r for r in rules if r.sent and r.id not in plan.skipped]
    unsent = [r for r in rules if not r.sent]
    lines.append(f"rules: {len(judged)} judged, {len(plan.skipped)} skipped, {len(unsent)} unsent")
    for rule_id, why in plan.skipped.items():
        lines.append(f"  skipped: {rule_id}: {why}")
    if plan.live:
        seconds = sum(requests.values()) / ESTIMATED_RATE
        lines.append(f"estimated duration: about {_duration(seconds)} at {ESTIMATED_RATE:g} requests a second (the "
                     "adaptive rate is lower while the account throttles)")
    return lines


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
