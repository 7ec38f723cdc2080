"""Where the choices of request building come from: Hypothesis draws, or the simplest choice every time.

Building a request is one piece of code for random requests (drawn, shrunk by
Hypothesis) and for boundary cases (deterministic): it asks a picker.
"""
from __future__ import annotations

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


class DrawPicker(Picker):
    def __init__(self, draw):
        self.draw = draw

    def value(self, space: Space) -> Any:
        return space.draw(self.draw)

    def flag(self) -> bool:
        return self.draw(_BOOLEANS)

    def index(self, n: int) -> int:
        return self.draw(_below(n))


class SimplestPicker(Picker):
    """No randomness: the simplest value, optional members left out, the first item."""

    def value(self, space: Space) -> Any:
        return space.simplest()

    def flag(self) -> bool:
        return False

    def index(self, n: int) -> int:
        return 0
