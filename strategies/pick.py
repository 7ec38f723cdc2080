"""Where the choices of request building come from: Hypothesis draws, or the simplest choice every time.

Building a request is one piece of code for random requests (drawn, shrunk by
Hypothesis) and for boundary cases (deterministic): it asks a picker.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from qsconform.strategies.spaces import Space


class Picker:
    def value(self, space: Space) -> Any:
        raise NotImplementedError

    def flag(self) -> bool:
        """Whether to send an optional member."""
        raise NotImplementedError

    def index(self, n: int) -> int:
        raise NotImplementedError


_BOOLEANS = st.booleans()


@lru_cache(maxsize=None)
def _below(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


_LABEL_MASK = 2 ** 64 - 1


class DrawPicker(Picker):
    """Draws from Hypothesis, each draw a span with a label of its own (`draw`).

    Unique labels stop Hypothesis from copying one member's choices over another's, a pairing the spec gives
    no meaning; the same choices give the same values (measurements: docs/speed.md, "Generation").
    """

    def __init__(self, draw):
        self._draw = draw
        self._count = 0

    def draw(self, strategy: st.SearchStrategy) -> Any:
        self._count += 1
        return self._draw(strategy, label=((strategy.label << 1) & _LABEL_MASK) ^ _place(self._count))

    def value(self, space: Space) -> Any:
        return space.draw(self.draw)

    def flag(self) -> bool:
        return self.draw(_BOOLEANS)

    def index(self, n: int) -> int:
        return self.draw(_below(n))


@lru_cache(maxsize=None)
def _place(n: int) -> int:
    """A label for the n-th draw (64 bits, as Hypothesis's labels)."""
    return int.from_bytes(hashlib.sha256(f"qsconform.strategies.pick draw {n}".encode()).digest()[:8], "big")


class SimplestPicker(Picker):
    """No randomness: the simplest value, optional members left out, the first item."""

    def value(self, space: Space) -> Any:
        return space.simplest()

    def flag(self) -> bool:
        return False

    def index(self, n: int) -> int:
        return 0
