"""Ctrl-C and SIGTERM that a run cannot lose: the one place that knows what became of an interrupt.

Both raise KeyboardInterrupt, so that pytest tears down and the run deletes what it created.
But Python swallows an exception raised while a finalizer or __del__ runs ("Exception ignored
in ..."), and a signal can land there (a socket closed by the garbage collector): the run
would then carry on to the end. And a library may turn it into an error of its own (jsonschema_rs
reports a KeyboardInterrupt raised in a keyword callback as a ValidationError). So the signal is also
remembered: `check()`, called before each request a run sends, raises it again; `unwrapped()` turns an
error raised while a signal was pending back into the interrupt it was; and `pending()` tells the command
line that the run was interrupted, whatever it ended with. While the users a command created are deleted
(`deferred()`), a signal is only remembered: the cleanup runs to its end.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

_pending = False
_deferred = 0  # cleanups under way in the main thread (the only thread a signal handler runs in)


def handle_signal(signum, frame) -> None:
    """The handler install() installs: an interrupt is pending; raised now unless a cleanup is under way."""
    global _pending
    _pending = True
    if not _deferred:
        raise KeyboardInterrupt


def install() -> None:
    """Take SIGINT and SIGTERM for this process (the command line's run, not a library user's)."""
    signal.signal(signal.SIGINT, handle_signal)
    signal.signal(signal.SIGTERM, handle_signal)


@contextmanager
def installed() -> Iterator[None]:
    """install() for a command's duration, the handlers it found put back after (a command run in-process)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    install()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


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


def wrapped(exc: BaseException) -> bool:
    """Whether `exc` is an interrupt in disguise: any exception raised while a signal is pending."""
    return _pending and not isinstance(exc, KeyboardInterrupt)


@contextmanager
def unwrapped() -> Iterator[None]:
    """Run a block that draws, compiles schemas or sends: an exception it raises while a signal is pending (a
    library turned the KeyboardInterrupt into its own error) is raised as the KeyboardInterrupt it was."""
    try:
        yield
    except Exception as exc:
        if wrapped(exc):
            raise KeyboardInterrupt from None
        raise


@contextmanager
def deferred() -> Iterator[None]:
    """While a command deletes what it created: a signal is remembered (pending) but not raised, so that a
    second Ctrl-C, or the first one landing there, cannot cut the cleanup short. Nested blocks are fine."""
    global _deferred
    main = threading.current_thread() is threading.main_thread()
    if main:
        _deferred += 1
    try:
        yield
    finally:
        if main:
            _deferred -= 1
