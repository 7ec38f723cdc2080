"""Which characters a pattern allows, and which break it under every reading.

Patterns are read as the oracle reads them: `strict_pattern` (anchored, ASCII
\\w) decides what is valid, `lenient_pattern` (searched, Unicode \\w) what is
invalid. Characters are found by testing candidates against the pattern, so
no character class is written down a second time.
"""
from __future__ import annotations

import unicodedata
from bisect import bisect_left
from functools import lru_cache
from itertools import compress

from qsconform.spec.oracle import lenient_pattern, strict_pattern

# Beyond the Basic Multilingual Plane only a few samples are tried: enough to
# have 4-byte UTF-8 characters among both allowed and refused ones.
_ASTRAL_SAMPLES = ("\U00010000", "\U0001F600", "\U00020000", "\U0010FFFD")

# Characters tried as refused ones: Latin ranges, every UTF-8 width, and
# characters that are often mishandled (line separators, replacement char).
_REFUSAL_SAMPLES = "".join(map(chr, range(0x0000, 0x0250))) + \
    "\u0394\u0416\u05d0\u0627\u0939\u20ac\u2028\u3042\u4e00\uac00\ufffd" + "".join(_ASTRAL_SAMPLES)


def order(chars) -> str:
    """Letters and digits first, then other ASCII, then the rest: the simplest value is 'a', not '+'.

    Sorted by (not ASCII alphanumeric, not ASCII, not a letter, not lower case, code point): the four
    flags pick one of 16 buckets, filled in code point order (a key function per character made
    ordering every printable character a second of each run's start). The characters beyond ASCII,
    most of a large alphabet, fill the last four buckets by letter and case alone, told apart by
    str methods mapped over all of them at once rather than by a loop.
    """
    return order_sorted(sorted(set(chars)))


def order_sorted(unique: list[str]) -> str:
    """order() of characters already in code point order, each once.

    Beyond ASCII, each character's two flags (letter, lower case) are found by str methods mapped over
    all of them at once, as bytes of 0 and 1; the two byte strings are added as big integers into one
    byte of 0-3 per character, and each bucket is taken out by translating that into a selector for
    compress: no Python code runs per character (most of the cost of the printable characters, built
    by every process that draws free text).
    """
    beyond = bisect_left(unique, "\x80")
    buckets: list[list[str]] = [[] for _ in range(12)]
    for c in unique[:beyond]:
        flags = (not c.isalnum()) << 3 | (not c.isalpha()) << 1 | (not c.islower())
        buckets[flags].append(c)
    rest = unique[beyond:]
    alpha = int.from_bytes(bytes(map(str.isalpha, rest)), "big")
    lower = int.from_bytes(bytes(map(str.islower, rest)), "big")
    kinds = ((alpha << 1) | lower).to_bytes(len(rest), "big")  # 3: letter, lower; 2: letter; 1: lower
    return "".join("".join(bucket) for bucket in buckets) \
        + "".join("".join(compress(rest, kinds.translate(_SELECT[kind]))) for kind in (3, 2, 1, 0))


# _SELECT[k]: bytes.translate table giving 1 for a byte k, 0 for any other.
_SELECT = [bytes(int(i == k) for i in range(256)) for k in range(4)]


@lru_cache(maxsize=None)
def _universe() -> str:
    return "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x10000))) + "".join(_ASTRAL_SAMPLES)


@lru_cache(maxsize=None)
def allowed_chars(pattern: str, min_length: int = 0) -> str | None:
    """The characters of a pattern that is one character class repeated (`^[a-z0-9._-]*$`,
    `[\\u0020-\\u00FF]+`, `^[0-9]{12}$`), ordered; None for any other pattern."""
    strict = strict_pattern(pattern)
    width = max(1, min_length)
    if width == 1:
        chars = list(filter(strict.fullmatch, _universe()))  # the same test, without a Python loop
    else:
        chars = [c for c in _universe() if strict.fullmatch(c * width)]
    if not chars:
        return None
    # A class repetition accepts any mix of its characters: check mixes of every character (one at a
    # time when width is 1: each was just checked).
    for start in range(0, len(chars) if width > 1 else 0, width):
        chunk = "".join(chars[start:start + width])
        chunk = (chunk * width)[:width]
        if not strict.fullmatch(chunk):
            return None
    return order(chars)


@lru_cache(maxsize=None)
def length_range(pattern: str, alphabet: str, low: int, high: int) -> tuple[int, int] | None:
    """The lengths in [low, high] the pattern accepts for a string of its characters (it may fix them, as {12} does)."""
    strict = strict_pattern(pattern)
    ok = [n for n in range(low, high + 1) if strict.fullmatch(alphabet[0] * n)]
    if not ok or ok != list(range(ok[0], ok[-1] + 1)):
        return None
    return ok[0], ok[-1]


def is_anchored(pattern: str) -> bool:
    return pattern.startswith("^") and pattern.endswith("$")


@lru_cache(maxsize=None)
def refused_chars(pattern: str, template: str, in_uri: bool) -> str:
    """Characters that break `pattern` under every reading wherever they stand.

    For an anchored pattern a character is refused when putting it into the
    valid `template` leaves no match; for an unanchored one, when the character
    alone has no match (a value made only of such characters matches nowhere).
    A URI label never gets control characters or '/', which change the request
    itself rather than the label.
    """
    lenient = lenient_pattern(pattern)
    out = []
    for c in _REFUSAL_SAMPLES:
        if in_uri and (c == "/" or unicodedata.category(c) == "Cc"):
            continue
        if is_anchored(pattern):
            probes = [c + template[1:], template[:-1] + c] if template else [c]
            if all(lenient.search(p) is None for p in probes):
                out.append(c)
        elif lenient.search(c) is None and lenient.search(c * 3) is None:
            out.append(c)
    # Visible characters first: the simplest violation is "!", not a space or a NUL.
    ordered = order(out)
    return "".join(sorted(ordered, key=lambda c: (unicodedata.category(c) == "Cc", c.isspace())))
