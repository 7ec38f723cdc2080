"""Ctrl-C and SIGTERM that a run cannot lose.

Both raise KeyboardInterrupt, so that pytest tears down and the run deletes what it created.
But Python swallows an exception raised while a finalizer or __del__ runs ("Exception ignored
in ..."), and a signal can land there (a socket closed by the garbage collector): the run
would then carry on to the end. And a library may turn it into an error of its own (jsonschema_rs
reports a KeyboardInterrupt raised in a keyword callback as a ValidationError). So the signal is also
remembered: `check()`, called before each request a test sends and when the run's set-up fails, raises it
again, and `pending()` tells the command line that the run was interrupted, whatever it ended with.
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


def pending() -> bool:
    """Whether a signal came (since install or reset)."""
    return _pending


def reset() -> None:
    global _pending
    _pending = False
