"""Spaces of values: each one a Hypothesis strategy and, for boundary cases, deterministic examples.

A space knows how to draw a value (`strategy`), its simplest value
(`simplest`), a few deterministic values worth trying (`examples`, simplest
first, bounds next) and, for lists that must not repeat, `distinct(n)` values.
The same space serves random draws and the deterministic boundary cases.
"""
from __future__ import annotations

import json
import math
import sys
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, Callable

from hypothesis import Phase, find, settings, strategies as st

from qsconform.strategies.alphabet import order


class EmptySpace(Exception):
    """A space with no value (every candidate filtered out)."""


def utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def fits(s: str, low: int, high: int) -> bool:
    """Within bounds in code points and in UTF-8 bytes alike (the strict reading)."""
    return low <= len(s) <= high and utf8_len(s) <= high


class Space:
    def strategy(self) -> st.SearchStrategy:
        # Built once per space: strategies are drawn from thousands of times.
        cached = self.__dict__.get("_strategy")
        if cached is None:
            cached = self._build()
            object.__setattr__(self, "_strategy", cached)
        return cached

    def _build(self) -> st.SearchStrategy:
        raise NotImplementedError

    def simplest(self) -> Any:
        examples = self.examples()
        if not examples:
            raise EmptySpace(repr(self))
        return examples[0]

    def examples(self) -> list:
        raise NotImplementedError

    def distinct(self, n: int) -> list | None:
        """n values that differ from one another, deterministically; None if the space has fewer."""
        values = _unique(self.examples())
        return values[:n] if len(values) >= n else None

    def contains(self, value: Any) -> bool:
        return True


def _unique(values: list) -> list:
    seen, out = set(), []
    for v in values:
        key = json.dumps(v, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


@dataclass(frozen=True)
class Choice(Space):
    """One of a fixed list of values (an enum, a configured value)."""

    values: tuple

    def _build(self):
        return st.sampled_from(self.values) if self.values else st.nothing()

    def examples(self):
        return list(self.values)

    def contains(self, value):
        return value in self.values


@dataclass(frozen=True)
class Integer(Space):
    low: int = -(2 ** 31)
    high: int = 2 ** 31 - 1

    def _build(self):
        return st.integers(self.low, self.high)

    def examples(self):
        return _unique([max(self.low, min(0, self.high)), self.low, self.high])

    def contains(self, value):
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high


# Every string is drawn with one and the same character strategy, then mapped into its alphabet.
# With string choices of different alphabets in one example, Hypothesis 6.155's shrinker
# (minimize_duplicated_choices) can try a character of one alphabet in another and fail inside
# choice_to_index ("... is not in list"); with a single alphabet for all choices it cannot.
_CHARS = st.characters(codec="utf-8")
_PRINTABLE_CATEGORIES = ("Cs", "Cc", "Cn", "Co")


@lru_cache(maxsize=None)
def printable() -> str:
    """Every printable character (no control, surrogate, unassigned or private-use code point), simplest first."""
    chars = (chr(i) for i in range(sys.maxunicode + 1))
    return order(c for c in chars if unicodedata.category(c) not in _PRINTABLE_CATEGORIES)


def _into(alphabet: str | None, c: str) -> str:
    if alphabet is None:
        if unicodedata.category(c) not in _PRINTABLE_CATEGORIES:
            return c
        alphabet = printable()
    # '0', the character Hypothesis shrinks to, maps to the alphabet's first (simplest) one; the step
    # spreads the mostly-ASCII draws over the whole alphabet.
    return alphabet[((ord(c) - ord("0")) * _step(len(alphabet))) % len(alphabet)]


@lru_cache(maxsize=None)
def _step(n: int) -> int:
    return next(p for p in (101, 103, 107, 109, 1) if math.gcd(p, n) == 1)


def text_in(alphabet: str | None, low: int, high: int) -> st.SearchStrategy[str]:
    """Strings of `alphabet` (None: any printable character), low..high characters long."""
    return st.text(_CHARS, min_size=low, max_size=high).map(lambda s: "".join(_into(alphabet, c) for c in s))


# Deterministic samples of free text beyond ASCII letters: every UTF-8 width and common separators.
_FREE_SAMPLES = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\u00a0é\u00ff\u0394\u4e00\u20ac\u2028\U0001F600"
# Well-formed e-mail addresses and URLs, on reserved example domains (nothing is ever sent to them).
_HOSTS = st.sampled_from(["example.com", "example.org", "idp.example.net", "xn--bcher-kva.example"])
_LOCAL = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~."
_PATH = "abcdefghijklmnopqrstuvwxyz0123456789-._~/%"
_ADDRESSES = st.builds("{}@{}".format, text_in(_LOCAL, 1, 24)
                       .filter(lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s), _HOSTS)
_URLS = st.builds("{}://{}/{}".format, st.sampled_from(["https", "http"]), _HOSTS, text_in(_PATH, 0, 30))
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MAX_SHOWN_CHARACTERS = 512


def lengths(low: int, high: int) -> st.SearchStrategy[int]:
    """Any length in [low, high], exactly a bound one time in three.

    Whether to snap to a bound is its own choice, made first: the shrinker can drop the snap and
    then shorten freely (with one_of(just(high), integers()) it would be stuck at the bound).
    """
    return st.tuples(st.sampled_from(("any", "low", "high")), st.integers(low, high)).map(
        lambda t: low if t[0] == "low" else high if t[0] == "high" else t[1])


@dataclass(frozen=True)
class Text(Space):
    """Strings of `alphabet` (None: any printable character) whose length, in code points and in
    UTF-8 bytes alike, is within [min_length, max_length], all starting with `prefix`.

    Free-form strings (`structured`) also come as e-mail addresses and URLs, the shapes a free
    member most often carries.
    """

    alphabet: str | None
    min_length: int
    max_length: int
    prefix: str = ""
    structured: bool = False

    @cached_property
    def _ascii(self) -> str:
        """The alphabet's ASCII characters, printable ones first."""
        chars = ALNUM if self.alphabet is None else "".join(c for c in self.alphabet if c.isascii())
        return "".join(sorted(order(chars), key=lambda c: not c.isprintable()))

    @cached_property
    def _filler(self) -> str:
        """What pads a value to a length: letters and digits if the alphabet has them."""
        alnum = [c for c in self._ascii if c.isalnum()]
        return "".join(alnum) or (self.alphabet if self.alphabet is not None else ALNUM)

    def _bounds(self) -> tuple[int, int]:
        return max(self.min_length - len(self.prefix), 0), self.max_length - len(self.prefix)

    def _fit(self, s: str) -> str:
        """Make a drawn string fit the UTF-8 budget.

        At the longest length, wide characters give way to ASCII ones (the bound is then met in
        code points and bytes alike); below it, the string is cut short, keeping its wide characters.
        """
        chars = list(s)
        if utf8_len(s) <= self.max_length:
            return s
        if len(chars) < self.max_length:
            while utf8_len("".join(chars)) > self.max_length and len(chars) > self.min_length:
                chars.pop()
        i = len(chars) - 1
        while utf8_len("".join(chars)) > self.max_length and i >= len(self.prefix):
            if not chars[i].isascii():
                if self._ascii:
                    chars[i] = self._ascii[i % len(self._ascii)]
                else:
                    del chars[i]
            i -= 1
        return "".join(chars)

    def _build(self):
        low, high = self._bounds()
        if high < low:
            return st.nothing()
        sizes = lengths(low, high)
        plain = sizes.flatmap(lambda n: text_in(self.alphabet, n, n)) \
            .map(lambda s: self._fit(self.prefix + s)).filter(self.contains)
        if not self.structured:
            return plain
        shaped = st.one_of(_ADDRESSES, _URLS).map(lambda s: self.prefix + s).filter(self.contains)
        return st.one_of(plain, shaped)

    def _padded(self, body: str) -> str:
        s = self.prefix + body
        while len(s) < self.min_length:
            s += self._filler[len(s) % len(self._filler)] if self._filler else ""
            if not self._filler:
                break
        return s

    def examples(self):
        low, high = self._bounds()
        if high < low:
            return []
        out = [self._padded(""), self.prefix + "".join(self._filler[i % len(self._filler)] for i in range(high))]
        # Every character the alphabet allows beyond ASCII letters and digits (the first few hundred of a
        # large one), in values within bounds.
        alphabet = self.alphabet if self.alphabet is not None else _FREE_SAMPLES
        others = [c for c in alphabet if not c.isalnum() or not c.isascii()][:MAX_SHOWN_CHARACTERS]
        chunk = ""
        for c in others:
            if not fits(self.prefix + chunk + c, 0, self.max_length):
                out.append(self._padded(chunk))
                chunk = ""
            chunk += c
        if chunk:
            out.append(self._padded(chunk))
        if self.structured:
            out += [self.prefix + "qsconform@example.com", self.prefix + "https://idp.example.com/qsconform"]
        return [s for s in _unique(out) if self.contains(s)]

    def distinct(self, n):
        digits = self._filler
        out = []
        for i in range(n):
            body, k = "", i
            while True:
                body = digits[k % len(digits)] + body
                k //= len(digits)
                if k == 0:
                    break
            s = self._padded(body)
            if not self.contains(s):
                return None
            out.append(s)
        return out

    def contains(self, value):
        return isinstance(value, str) and value.startswith(self.prefix) and fits(value, self.min_length, self.max_length) \
            and (self.alphabet is None or all(c in self.alphabet for c in value[len(self.prefix):]))

    def with_min_length(self, n: int) -> "Text":
        return replace(self, min_length=max(self.min_length, n))


@dataclass(frozen=True)
class Regex(Space):
    """Strings matching a pattern that is not one character class (drawn by Hypothesis's from_regex)."""

    pattern: str
    max_length: int

    def _build(self):
        return st.from_regex(self.pattern, fullmatch=True).filter(lambda s: fits(s, 0, self.max_length))

    def examples(self):
        try:
            return [find(self.strategy(), lambda s: True,
                         settings=settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink]))]
        except Exception:
            return []


@dataclass(frozen=True)
class Mapped(Space):
    """Values of another space passed through a function (a name made into an ARN)."""

    inner: Space
    fn: Callable[[Any], Any] = field(compare=False)
    label: str = ""

    def _build(self):
        return self.inner.strategy().map(self.fn)

    def examples(self):
        return [self.fn(v) for v in self.inner.examples()]

    def distinct(self, n):
        values = self.inner.distinct(n)
        return None if values is None else [self.fn(v) for v in values]


@dataclass(frozen=True)
class OneOf(Space):
    spaces: tuple[Space, ...]

    def _build(self):
        return st.one_of([s.strategy() for s in self.spaces]) if self.spaces else st.nothing()

    def examples(self):
        return _unique([v for s in self.spaces for v in s.examples()])

    def contains(self, value):
        return any(s.contains(value) for s in self.spaces)


@dataclass(frozen=True)
class Filtered(Space):
    inner: Space
    predicate: Callable[[Any], bool] = field(compare=False)
    label: str = ""

    def _build(self):
        return self.inner.strategy().filter(self.predicate)

    def examples(self):
        return [v for v in self.inner.examples() if self.predicate(v)]

    def distinct(self, n):
        values = self.inner.distinct(2 * n + 4)
        kept = [v for v in values or [] if self.predicate(v)]
        return kept[:n] if len(kept) >= n else None

    def contains(self, value):
        return self.inner.contains(value) and self.predicate(value)


@dataclass(frozen=True)
class Struct(Space):
    """A JSON object: fields (name, space, required); optional fields present or absent."""

    fields: tuple[tuple[str, Space, bool], ...]

    def _build(self):
        required = {n: s.strategy() for n, s, r in self.fields if r}
        optional = {n: s.strategy() for n, s, r in self.fields if not r}
        return st.fixed_dictionaries(required, optional=optional)

    def examples(self):
        try:
            return [{n: s.simplest() for n, s, r in self.fields if r}]
        except EmptySpace:
            return []

    def distinct(self, n):
        columns = {name: s.distinct(n) for name, s, r in self.fields if r}
        if any(c is None for c in columns.values()):
            return None
        return [{name: col[i] for name, col in columns.items()} for i in range(n)]

    def contains(self, value):
        return isinstance(value, dict) and all(n in value for n, s, r in self.fields if r)


@dataclass(frozen=True)
class ListOf(Space):
    """A JSON array of `item` values, min_items..max_items long; `unique_by` names item members no two
    items share; `item_ok` is what each item must satisfy besides its own space."""

    item: Space
    min_items: int
    max_items: int
    unique_by: tuple[str, ...] = ()
    item_ok: tuple[Callable[[Any], bool], ...] = field(default=(), compare=False)

    # Random lists are short; longer ones (up to the maximum) are completed with distinct items.
    RANDOM_ITEMS = 6

    def _ok(self, item) -> bool:
        return all(p(item) for p in self.item_ok)

    def _key(self, item):
        return tuple(json.dumps(item.get(k) if isinstance(item, dict) else item) for k in self.unique_by)

    def _unique_list(self, items: list) -> bool:
        keys = [self._key(i) for i in items]
        return len(keys) == len(set(keys))

    def _build(self):
        low, high = self.min_items, self.max_items
        item = self.item.strategy().filter(self._ok)
        unique = (lambda i: self._key(i)) if self.unique_by else None
        drawn = st.lists(item, min_size=min(low, self.RANDOM_ITEMS), max_size=min(high, self.RANDOM_ITEMS), unique_by=unique)
        # Mostly short lists; now and then the longest, or any length in range. (Long lists are slow
        # to check, and the boundary cases always have the longest.)
        near = min(high, low + self.RANDOM_ITEMS)
        size = st.tuples(st.integers(0, 19), st.integers(low, near), st.integers(low, high)).map(
            lambda t: high if t[0] == 19 else t[2] if t[0] == 18 else t[1])

        def complete(pair):
            items, n = pair
            items = items[:n]
            if len(items) < n:
                taken = {self._key(x) for x in items}
                spare = [i for i in self.distinct_items(n + len(items)) if self._key(i) not in taken]
                items = items + spare[:n - len(items)]
            return items

        return st.tuples(drawn, size).map(complete).filter(self.contains)

    def distinct_items(self, n: int) -> list:
        """Up to n valid items that differ in every member, deterministically."""
        items = self.item.distinct(2 * n + 4) or []
        return [i for i in items if self._ok(i)]

    def distinct(self, n):
        return None

    def examples(self):
        out = []
        for n in (self.min_items, self.max_items):
            items = self.distinct_items(n)[:n]
            if len(items) == n:
                out.append(items)
        return _unique(out)

    def contains(self, value):
        return isinstance(value, list) and self.min_items <= len(value) <= self.max_items \
            and all(self._ok(i) for i in value) and (not self.unique_by or self._unique_list(value))
