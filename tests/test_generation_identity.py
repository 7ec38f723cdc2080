"""Drawing is made cheap without changing what is drawn: the spaces draw text, enums and fixed values inside
one composite, with a span for each leaf strategy only, and must give, for every sequence of Hypothesis
choices, the value the readable combinator definition gives (lengths(...).flatmap(text_in).map(fit).filter,
one_of of addresses and URLs, filters joined, one_of flattened). Reproduction blobs and recorded choices stay
valid. (benchmarks/generation_identity.py replays recorded choices of whole requests across a change.)"""
from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.control import BuildContext, current_build_context
from hypothesis.errors import StopTest
from hypothesis.internal.conjecture.data import ConjectureData

from qsconform.strategies import StrategyConfig
from qsconform.strategies.alphabet import order, order_sorted
from qsconform.strategies.context import context_for
from qsconform.strategies.spaces import (HOSTS, EMAIL_LOCAL, URL_PATH, Choice, Filtered, Mapped, OneOf, Text, lengths,
                                         printable, printable_by_scan, text_in)
from qsconform.strategies.violations import violations
from qsconform.spec.loader import default_spec

SPEC = default_spec()

_ADDRESSES = st.builds("{}@{}".format, text_in(EMAIL_LOCAL, 1, 24)
                       .filter(lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s), HOSTS)
_URLS = st.builds("{}://{}/{}".format, st.sampled_from(["https", "http"]), HOSTS, text_in(URL_PATH, 0, 30))


def combinators(space, conds=()):
    """The space's values as first written with Hypothesis's combinators (filters joined by Hypothesis)."""
    if isinstance(space, Text):
        low, high = space._bounds()
        if high < low:
            return st.nothing()
        plain = lengths(low, high).flatmap(lambda n: text_in(space.alphabet, n, n)) \
            .map(lambda s: space._fit(space.prefix + s)).filter(space.contains)
        strategy = plain if not space.structured else \
            st.one_of(plain, st.one_of(_ADDRESSES, _URLS).map(lambda s: space.prefix + s).filter(space.contains))
    elif isinstance(space, Filtered):
        return combinators(space.inner, (space.predicate,) + conds)
    elif isinstance(space, Mapped):
        strategy = combinators(space.inner).map(space.fn)
    elif isinstance(space, OneOf):
        strategy = st.one_of([combinators(s) for s in space.spaces]) if space.spaces else st.nothing()
    elif isinstance(space, Choice):
        strategy = st.sampled_from(space.values) if space.values else st.nothing()
    else:
        strategy = space.strategy()
    for cond in conds:
        strategy = strategy.filter(cond)
    return strategy


def replay(strategy, choices):
    data = ConjectureData.for_choices(choices)
    try:
        with BuildContext(data, is_final=False, wrapped_test=replay):
            return ("value", data.draw(strategy))
    except StopTest:
        return ("invalid",)


def drawn_directly(space):
    return st.composite(lambda draw: space.draw(draw))()


def spaces_drawn():
    """Every space a request is drawn from: the valid values of each member, and what each violation sets."""
    out = {
        "plain": Text("abc", 0, 12),
        "prefixed": Text("abcdefghijklmnopqrstuvwxyz0123456789", 14, 29, "qsc-1a2b3c4d-"),
        "free": Text(None, 1, 128),
        "structured": Text(None, 0, 128, structured=True),
        "structured-prefixed": Text(None, 14, 40, "qsc-", structured=True),
        "empty": Text("abc", 5, 3),
        "fixed": Choice(("default",)),
        "filtered-structured": Filtered(Text(None, 0, 64, structured=True), lambda v: "a" not in v, "no a"),
        "filtered-twice": Filtered(Filtered(Text("ab.", 1, 4), lambda v: v != "..", "not .."),
                                   lambda v: not v.startswith("b"), "not b"),
        "one-of": OneOf((Choice(("X",)), Text("ABC_", 3, 6), Text(None, 0, 9, structured=True))),
        "filtered-one-of": Filtered(OneOf((Choice(("X", "Y")), Mapped(Text("abc", 1, 5), str.upper, "upper"),
                                           Text(None, 0, 9, structured=True))), lambda v: "A" not in v, "no A"),
    }
    for operation in ("RegisterUser", "UpdateUser"):
        for config_name, config in (("local", StrategyConfig(user_prefix="qsc-1a2b3c4d-")),
                                    ("live-safe", StrategyConfig(live_safe=True, iam_arns=(
                                        "arn:aws:iam::123456789012:role/embedding",)))):
            ctx = context_for(operation, config, spec=SPEC)
            for name in ctx.op.members:
                space = ctx.valid_space(name)
                if space is not None:
                    out[f"{operation}/{config_name}/{name}"] = space
    return out


SPACES = spaces_drawn()


@pytest.mark.parametrize("name", sorted(SPACES))
def test_a_space_draws_what_its_combinators_draw_for_the_same_choices(name):
    space = SPACES[name]
    reference = combinators(space)
    seen = []

    @settings(max_examples=60, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(reference)
    def record(value):
        seen.append((tuple(current_build_context().data.choices), value))

    if reference.is_empty:
        assert space.strategy().is_empty
        return
    record()
    assert seen
    for choices, value in seen:
        assert replay(space.strategy(), choices) == ("value", value)
        assert replay(drawn_directly(space), choices) == ("value", value)


def test_violation_values_are_drawn_as_their_combinators_draw_them():
    """The spaces a violation sets a member from (longer values, refused characters, unknown enum values)."""
    checked = 0
    for operation in ("RegisterUser", "UpdateUser"):
        ctx = context_for(operation, StrategyConfig(), spec=SPEC)
        for v in violations(ctx):
            for cell in (v.edit.__closure__ or ()) if v.edit is not None else ():
                space = cell.cell_contents
                if not hasattr(space, "strategy") or not hasattr(space, "draw"):
                    continue
                reference = combinators(space)
                if reference.is_empty:
                    continue
                seen = []

                @settings(max_examples=10, database=None, deadline=None, suppress_health_check=list(HealthCheck))
                @given(reference)
                def record(value):
                    seen.append((tuple(current_build_context().data.choices), value))

                record()
                for choices, value in seen:
                    assert replay(space.strategy(), choices) == ("value", value)
                    assert replay(drawn_directly(space), choices) == ("value", value)
                checked += 1
    assert checked > 10


def test_printable_is_every_printable_character_simplest_first():
    expected = order(c for c in map(chr, range(sys.maxunicode + 1))
                     if unicodedata.category(c) not in ("Cs", "Cc", "Cn", "Co"))
    assert printable() == expected
    assert order(printable_by_scan()) == expected


def test_order_is_the_documented_sort():
    """order_sorted's buckets (filled without per-character Python code) give the order its doc defines."""
    chars = printable_by_scan() + ["\ud800", "\U000e0001"]  # and a surrogate, a format character
    chars.sort()

    def key(c):
        return not (c.isascii() and c.isalnum()), not c.isascii(), not c.isalpha(), not c.islower(), ord(c)

    assert order_sorted(chars) == "".join(sorted(chars, key=key))
