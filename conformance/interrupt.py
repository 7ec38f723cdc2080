"""Ctrl-C and SIGTERM that a run cannot lose.

Both raise KeyboardInterrupt, so that pytest tears down and the run deletes what it created.
But Python swallows an exception raised while a finalizer or __del__ runs ("Exception ignored
in ..."), and a signal can land there (a socket closed by the garbage collector): the run
would then carry on to the end. So the signal is also remembered, and `check()`, called
before each request a test sends, raises it again.
"""
from __future__ import annotations

import signal

_pending = False


def _handler(signum, frame) -> None:
    global _pending
    _pending = True
    raise KeyboardInterrupt


def install() -> None:
    """Take SIGINT and SIGTERM for this process (the command line's run, not a library user's)."""
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def check() -> None:
    """Raise KeyboardInterrupt if a signal came and was swallowed on its way."""
    if _pending:
        raise KeyboardInterrupt


def reset() -> None:
    global _pending
    _pending = False
