"""The boundary examples alone catch every rule switched off, whatever the seed.

For each rule the suite breaks on purpose, the reference target is started with that one check
of its own switched off (or with a named fault that breaks it, where the check is not a
validation step), and the rule is judged by its deterministic boundary examples only (no
random draws). Each must be caught: `failed` for a MUST or OBSERVED rule, `advisory` for a
SHOULD one. The verdict must not depend on the seed: with no random draws the seed changes no
request the run sends (the test below proves it for two seeds, request for request, over every
rule the suite sends), so one run proves what a run with any seed would. The user prefix does
change them: each run of the test draws its own, and the boundary examples cover each shape the
rest of a request can take (an unknown IdentityType with a UserName and without), so no prefix
can give a server a reason to refuse them for something else.
"""
import secrets

from qsconform.conformance.engine.run import Run
from qsconform.conformance.engine.run_config import RunConfig
from qsconform.conformance.reference import FAULTS, Fault
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Transport
from qsconform.spec.loader import default_spec
from qsconform.spec.model import deviation_fails_run
from qsconform.strategies import breakable_alone

SPEC = default_spec()
VIOLABLE = [r for r in SPEC.rules if r.kind in ("member", "cross", "protocol") and r.generate_violations
            and breakable_alone(r.operation, r.id, spec=SPEC)]


def fault_for(rule, monkeypatch) -> str:
    """The named fault that breaks the rule with the fewest others, else one switching off the reference's
    checks of that id and of the rules every violation of it breaks too (eleven digits break the account
    id's length and its pattern)."""
    named = sorted((len(f.breaks), name) for name, f in FAULTS.items() if rule.id in f.breaks)
    if named:
        return named[0][1]
    name = f"skip:{rule.id}"
    skips = (rule.id, *rule.co_broken)
    monkeypatch.setitem(FAULTS, name, Fault(name=name, description=f"{', '.join(skips)} not checked", breaks=skips,
                                            hook="validate", skips=skips))
    return name


def test_every_rule_the_suite_breaks_is_in_the_proof():
    assert len(VIOLABLE) > 60
    assert {r.kind for r in VIOLABLE} == {"member", "cross", "protocol"}


SENT = [r for r in SPEC.rules if r.sent]


def sent_by(seed, prefix) -> list:
    """Every request a run with no random examples sends, judging every rule the suite sends (the proof's, and
    the response and lifecycle rules, whose boundary example is the canonical program) against a faithful
    server (a fresh one: the same users exist when the same request comes)."""
    sent = []
    with open_target("reference") as target:
        transport = Transport(target, SPEC, backoff=0.001)
        transport.observers.append(lambda s: sent.append((s.operation, dict(s.path_params), s.body, s.query)))
        run = Run(RunConfig(target="reference", profile="quick", seed=seed, max_examples=0, prefix=prefix), SPEC,
                  target, transport)
        try:
            for rule in SENT:
                run.check_rule(rule)
                assert run.results.rules[rule.id].status == "passed", (rule.id, run.results.rules[rule.id].message)
        finally:
            run.cleanup()
    return sent


def test_without_random_examples_the_seed_changes_no_request():
    prefix = f"qsc-{secrets.token_hex(4)}-"
    first, second = sent_by(1, prefix), sent_by(2, prefix)
    assert len(first) > len(SENT) > len(VIOLABLE)
    assert {r.kind for r in SENT} > {"member", "cross", "protocol", "lifecycle"}
    assert first == second


def test_boundary_examples_alone_catch_each_rule_switched_off(monkeypatch):
    seed = secrets.randbelow(2**32)  # any: it changes no request (above)
    prefix = f"qsc-{secrets.token_hex(4)}-"
    missed = {}
    for rule in VIOLABLE:
        fault = fault_for(rule, monkeypatch)
        with open_target("reference", reference_options={"faults": (fault,)}) as target:
            config = RunConfig(target="reference", profile="quick", seed=seed, max_examples=0, prefix=prefix)
            run = Run(config, SPEC, target, Transport(target, SPEC, backoff=0.001))
            try:
                run.check_rule(rule)
            finally:
                run.cleanup()
        status = run.results.rules[rule.id].status
        if status != ("failed" if deviation_fails_run(rule.level) else "advisory"):
            missed[rule.id] = f"{fault}: {status} {run.results.rules[rule.id].message}"
    assert missed == {}, f"seed {seed}, prefix {prefix}"
