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
from typing import Any, Callable, NoReturn

from hypothesis import Phase, find, settings, strategies as st

from qsconform.strategies.alphabet import order, order_sorted


class EmptySpace(Exception):
    """A space with no value (every candidate filtered out)."""


def utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def fits(s: str, low: int, high: int) -> bool:
    """Within bounds in code points and in UTF-8 bytes alike (the strict reading)."""
    return low <= len(s) <= high and utf8_len(s) <= high


_NOTHING = st.nothing()


def reject(draw) -> NoReturn:
    """End the example as invalid, as a Hypothesis filter does when three draws in a row fail it."""
    draw(_NOTHING)
    raise AssertionError("drawing from nothing() ends the example")  # pragma: no cover


@lru_cache(maxsize=None)
def _index(n: int) -> st.SearchStrategy[int]:
    """Which of n branches: the very choice st.one_of makes (an integer in [0, n - 1], as sampled_from draws it)."""
    return st.sampled_from(tuple(range(n)))


def _composite(fn: Callable) -> st.SearchStrategy:
    return st.composite(lambda draw: fn(draw))()


class Space:
    """Values, drawn in one of two ways that make the same choices and give the same values.

    `strategy()` is a Hypothesis strategy, for the combinators that hold a space inside another
    (lists, dictionaries, one_of). `draw(draw, conds)` draws a value directly inside a composite: the
    spaces drawn from most often (text, enums, fixed values) make the choices their strategy makes
    without its layers of nested strategies (every .map, .filter, .flatmap and tuple is a span of its
    own to Hypothesis, and spans, not choices, were most of the cost of drawing a request).
    `conds` are predicates the value must also meet, checked as Hypothesis checks the conditions of
    a filter (the space's own filter and these, three tries, then the example is invalid).
    """

    def strategy(self) -> st.SearchStrategy:
        # Built once per space: strategies are drawn from thousands of times.
        cached = self.__dict__.get("_strategy")
        if cached is None:
            cached = self._build()
            object.__setattr__(self, "_strategy", cached)
        return cached

    def _build(self) -> st.SearchStrategy:
        raise NotImplementedError

    def filtered_strategy(self, conds: tuple = ()) -> st.SearchStrategy:
        """strategy().filter(c) for each of conds (what Filtered spaces and list items are drawn with)."""
        if not conds:
            return self.strategy()
        cache = self.__dict__.get("_filtered")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_filtered", cache)
        # Keyed by the predicates themselves (they are kept alive by the spaces that hold them).
        key = tuple(map(id, conds))
        hit = cache.get(key)
        if hit is None or hit[0] != conds:
            hit = cache[key] = (conds, self._build_filtered(conds))
        return hit[1]

    def _build_filtered(self, conds: tuple) -> st.SearchStrategy:
        strategy = self.strategy()
        for cond in conds:
            strategy = strategy.filter(cond)
        return strategy

    def draw(self, draw, conds: tuple = ()) -> Any:
        return draw(self.filtered_strategy(conds))

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

    def draw(self, draw, conds=()):
        if len(self.values) == 1 and not conds:
            return self.values[0]  # sampled_from of one value is just(value): no choice to make
        return draw(self.filtered_strategy(conds))

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
    return order_sorted(_printable_by_charmap() or printable_by_scan())


def printable_by_scan() -> list[str]:
    """The printable characters in code point order, by the category of each of the 1.1 million code points."""
    category, excluded = unicodedata.category, frozenset(_PRINTABLE_CATEGORIES)
    return [c for c in map(chr, range(sys.maxunicode + 1)) if category(c) not in excluded]


def _printable_by_charmap() -> list[str] | None:
    """The same, from the code point intervals of each category that Hypothesis keeps (and had built for
    _CHARS already, from the same unicodedata): a fifth of the time of a scan, paid by every process that
    draws free text. None if that (internal) table is not there as expected."""
    try:
        from hypothesis.internal.charmap import charmap
        intervals = sorted(iv for cat, ivs in charmap().items() if cat not in _PRINTABLE_CATEGORIES for iv in ivs)
        return [chr(c) for start, end in intervals for c in range(start, end + 1)]
    except Exception:  # pragma: no cover - another Hypothesis
        return None


class _Into(dict):
    """A str.translate table into an alphabet, filled as characters come (_into for each)."""

    LIMIT = 1 << 16  # characters remembered, at most (any code point can be drawn)

    def __init__(self, alphabet: str | None):
        super().__init__()
        self.alphabet = alphabet

    def __missing__(self, code: int) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        c = self[code] = _into(self.alphabet, chr(code))
        return c


@lru_cache(maxsize=None)
def _table(alphabet: str | None) -> _Into:
    return _Into(alphabet)


def into(alphabet: str | None, s: str) -> str:
    """Every character of a drawn string mapped into `alphabet` (None: printable characters)."""
    return s.translate(_table(alphabet))


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


@lru_cache(maxsize=None)
def _drawn_text(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(_CHARS, min_size=low, max_size=high)


def text_in(alphabet: str | None, low: int, high: int) -> st.SearchStrategy[str]:
    """Strings of `alphabet` (None: any printable character), low..high characters long."""
    return _drawn_text(low, high).map(lambda s: into(alphabet, s))


def draw_text_in(draw, alphabet: str | None, low: int, high: int) -> str:
    """A value of text_in(alphabet, low, high), drawn with the same choice."""
    if high == 0:
        return ""  # text(max_size=0) is just(""): no choice to make
    return into(alphabet, draw(_drawn_text(low, high)))


# Deterministic samples of free text beyond ASCII letters: every UTF-8 width and common separators.
_FREE_SAMPLES = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\u00a0é\u00ff\u0394\u4e00\u20ac\u2028\U0001F600"
# Well-formed e-mail addresses and URLs, on reserved example domains (nothing is ever sent to them).
HOSTS = st.sampled_from(["example.com", "example.org", "idp.example.net", "xn--bcher-kva.example"])
EMAIL_LOCAL = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~."
URL_PATH = "abcdefghijklmnopqrstuvwxyz0123456789-._~/%"
_SCHEMES = st.sampled_from(["https", "http"])


def _local_part_ok(s: str) -> bool:
    return not s.startswith(".") and not s.endswith(".") and ".." not in s


def _draw_address(draw) -> str:
    """An e-mail address: the choices of builds("{}@{}".format, text_in(EMAIL_LOCAL, 1, 24).filter(ok), HOSTS)."""
    for _ in range(3):
        local = draw_text_in(draw, EMAIL_LOCAL, 1, 24)
        if _local_part_ok(local):
            break
    else:
        reject(draw)
    return f"{local}@{draw(HOSTS)}"


def _draw_url(draw) -> str:
    """A URL: the choices of builds("{}://{}/{}".format, sampled_from(schemes), HOSTS, text_in(URL_PATH, 0, 30))."""
    scheme = draw(_SCHEMES)
    host = draw(HOSTS)
    return f"{scheme}://{host}/{draw_text_in(draw, URL_PATH, 0, 30)}"


_SHAPES = (_draw_address, _draw_url)
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MAX_SHOWN_CHARACTERS = 512


def lengths(low: int, high: int) -> st.SearchStrategy[int]:
    """Any length in [low, high], exactly a bound one time in three.

    Whether to snap to a bound is its own choice, made first: the shrinker can drop the snap and
    then shorten freely (with one_of(just(high), integers()) it would be stuck at the bound).
    """
    return st.tuples(_SNAP, _integers(low, high)).map(lambda t: _length(t[0], t[1], low, high))


_SNAP = st.sampled_from(("any", "low", "high"))


@lru_cache(maxsize=None)
def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def _length(snap: str, n: int, low: int, high: int) -> int:
    return low if snap == "low" else high if snap == "high" else n


def draw_length(draw, low: int, high: int) -> int:
    """A value of lengths(low, high), drawn with the same choices (the snap, then the integer)."""
    snap = draw(_SNAP)
    return _length(snap, draw(_integers(low, high)), low, high)


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
        size = utf8_len(s)
        if size <= self.max_length:
            return s
        chars = list(s)
        if len(chars) < self.max_length:
            while size > self.max_length and len(chars) > self.min_length:
                size -= utf8_len(chars.pop())
        i = len(chars) - 1
        while size > self.max_length and i >= len(self.prefix):
            if not chars[i].isascii():
                size -= utf8_len(chars[i])
                if self._ascii:
                    chars[i] = self._ascii[i % len(self._ascii)]
                    size += 1
                else:
                    del chars[i]
            i -= 1
        return "".join(chars)

    # What is drawn, as it was first written with Hypothesis's combinators:
    #
    #     plain = lengths(low, high).flatmap(lambda n: text_in(alphabet, n, n))
    #                 .map(lambda s: self._fit(prefix + s)).filter(self.contains)
    #     shaped = one_of(addresses, urls).map(lambda s: prefix + s).filter(self.contains)
    #     plain if not structured else one_of(plain, shaped)
    #
    # The methods below make the same choices in the same order, with a span for each leaf strategy
    # only. A one_of flattens the one_of it holds, through maps and filters: a structured value is one
    # of three branches (plain, an address, a URL), each with its own filter; a filter on the whole (a
    # Filtered space) joins the filter of each branch.

    def _branches(self, conds: tuple) -> list[Callable]:
        plain = lambda draw: self._draw_plain(draw, conds)  # noqa: E731
        if not self.structured:
            return [plain]
        return [plain] + [lambda draw, shape=shape: self._draw_shaped(draw, shape, conds) for shape in _SHAPES]

    def _build(self):
        return self._build_filtered(())

    def _build_filtered(self, conds):
        low, high = self._bounds()
        if high < low:
            return st.nothing()
        branches = [_composite(branch) for branch in self._branches(conds)]
        return branches[0] if len(branches) == 1 else st.one_of(branches)

    def draw(self, draw, conds=()):
        low, high = self._bounds()
        if high < low:
            reject(draw)
        if not self.structured:
            return self._draw_plain(draw, conds)
        i = draw(_index(1 + len(_SHAPES)))
        return self._draw_plain(draw, conds) if i == 0 else self._draw_shaped(draw, _SHAPES[i - 1], conds)

    def _draw_plain(self, draw, conds):
        low, high = self._bounds()
        for _ in range(3):
            n = draw_length(draw, low, high)
            value = self._fit(self.prefix + draw_text_in(draw, self.alphabet, n, n))
            if self.contains(value) and all(cond(value) for cond in conds):
                return value
        reject(draw)

    def _draw_shaped(self, draw, shape, conds):
        for _ in range(3):
            value = self.prefix + shape(draw)
            if self.contains(value) and all(cond(value) for cond in conds):
                return value
        reject(draw)

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
        out += self._space_edged()
        return [s for s in _unique(out) if self.contains(s)]

    def _space_edged(self) -> list[str]:
        """Values a server might trim before it stores them: a trailing space, and a leading one where no prefix
        comes first (an address among them, for a free member)."""
        if self.alphabet is not None and " " not in self.alphabet:
            return []
        body = self._filler[:1] or "a"
        if self.prefix:
            return [self._padded(body) + " "]
        return [" qsconform@example.com "] if self.structured else [f" {body} "]

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

    @cached_property
    def _alphabet_set(self) -> frozenset:
        return frozenset(self.alphabet or ())  # read only when there is an alphabet

    def contains(self, value):
        return isinstance(value, str) and value.startswith(self.prefix) and fits(value, self.min_length, self.max_length) \
            and (self.alphabet is None or self._alphabet_set.issuperset(value[len(self.prefix):]))

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

    def draw(self, draw, conds=()):
        if conds:
            return super().draw(draw, conds)
        return self.fn(self.inner.draw(draw))

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

    def _build_filtered(self, conds):
        # As Hypothesis filters a one_of: each branch (with its own filters joined).
        return st.one_of([s.filtered_strategy(conds) for s in self.spaces]) if self.spaces else st.nothing()

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
        return self.inner.filtered_strategy((self.predicate,))

    def _build_filtered(self, conds):
        return self.inner.filtered_strategy((self.predicate,) + conds)

    def draw(self, draw, conds=()):
        return self.inner.draw(draw, (self.predicate,) + conds)

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
        complete = {name: col for name, col in columns.items() if col is not None}
        if len(complete) < len(columns):
            return None
        return [{name: col[i] for name, col in complete.items()} for i in range(n)]

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
        item = self.item.filtered_strategy((self._ok,))
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
