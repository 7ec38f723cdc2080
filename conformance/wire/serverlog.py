"""The log of a server the run started itself (embedded moto, the reference server), cut per exchange.

Such a server runs in this process, so its log records (werkzeug's request lines, moto's ~50-line
traceback of a 500, the reference server's crashes) can be read as they are emitted: a `ServerLog` reads the
records of the server's loggers. The transport brackets each attempt with `begin()` and
`Capture.end()`; a record emitted while the request is in flight belongs to it, and so does one its
serving thread emits after answering (werkzeug logs the traceback of a crash after it has sent the 500),
which `end()` waits for when the server closes the connection after a 5xx. Records outside any exchange
(start-up, a reset) are dropped. With several exchanges in flight (rules judged side by side), a record goes
to the exchange whose serving thread already logged for it, or to the only one in flight; one no exchange can
claim for sure is dropped rather than shown as another request's evidence.

While a ServerLog is attached, a filter on its loggers takes every record and lets no handler have it: the
server's log goes to the reports, as evidence, not to the console. Each line is redacted as it is captured.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence

MAX_LINES = 400  # lines kept per exchange: the first ones, then "... N more"
MAX_CHARS = 40000  # characters kept per exchange
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # werkzeug colours the request line of an error

# The loggers of each embedded server, and the level they are captured at: the records logged on these very
# loggers (a filter sees no record a child logger propagates). moto's server logs through werkzeug: its request
# lines, and the traceback of every request that crashed.
MOTO_LOGGERS = {"werkzeug": logging.INFO}
REFERENCE_LOGGERS = {"werkzeug": logging.INFO, "qsconform.reference": logging.DEBUG}



class _Sink(logging.Filter):
    """On one logger: hands each record to every ServerLog attached, then drops it, so that no handler (the
    console's, pytest's capture, which also listens to loggers that do not propagate) ever sees it."""

    def __init__(self, level_before: int):
        super().__init__()
        self.level_before = level_before
        self.logs: list[ServerLog] = []

    def filter(self, record: logging.LogRecord) -> bool:
        for log in list(self.logs):
            log.take(record)
        return False


_sinks: dict[str, _Sink] = {}  # logger name -> its sink, while some ServerLog is attached
_sinks_lock = threading.Lock()


class Capture:
    """The log lines of one exchange (thread-safe); `lines` once `end()` has returned."""

    def __init__(self):
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._chars = 0
        self._dropped = 0
        self.threads: set[threading.Thread] = set()  # the server threads that logged while it was in flight
        self.in_flight = True
        self.log: ServerLog | None = None

    def knows(self, thread: threading.Thread) -> bool:
        """Whether `thread` has logged for this exchange."""
        with self._lock:
            return thread in self.threads

    def claim(self, thread: threading.Thread) -> bool:
        """`thread` logs for this exchange, if it is still in flight."""
        with self._lock:
            if self.in_flight:
                self.threads.add(thread)
            return self.in_flight

    def add(self, text: str) -> None:
        with self._lock:
            for line in text.splitlines() or [""]:
                if len(self._lines) >= MAX_LINES or self._chars + len(line) > MAX_CHARS:
                    self._dropped += 1
                    continue
                self._lines.append(line)
                self._chars += len(line) + 1

    def end(self, status: int | None = None, closing: bool = False, wait: float = 1.0) -> tuple[str, ...]:
        """The exchange is answered (`status`, None when it got no answer). A server that answered a 5xx and
        closes the connection is about to finish with it, and may log its traceback only now: wait (at
        most `wait` seconds) for the threads that served it."""
        with self._lock:
            threads = list(self.threads)
        if status is not None and status >= 500 and closing:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join(wait)
        with self._lock:
            self.in_flight = False
        if self.log is not None:
            self.log.ended(self)
        return self.lines

    @property
    def lines(self) -> tuple[str, ...]:
        with self._lock:
            more = (f"... {self._dropped} more line(s) not kept",) if self._dropped else ()
            return tuple(self._lines) + more


class ServerLog:
    """Captures what an embedded server logs, per exchange. `attach()` before the server starts,
    `detach()` once it has stopped."""

    def __init__(self, loggers: dict[str, int], redact: Callable[[str], str] = lambda text: text):
        self.loggers, self._redact = dict(loggers), redact
        self._in_flight: list[Capture] = []  # exchanges begun and not ended
        self._guard = threading.Lock()
        self._format = logging.Formatter("%(levelname)s %(name)s: %(message)s").format

    def begin(self) -> Capture:
        """A request is about to be sent: what the server logs from now on is its own."""
        capture = Capture()
        capture.log = self
        with self._guard:
            self._in_flight.append(capture)
        return capture

    def ended(self, capture: Capture) -> None:
        with self._guard:
            if capture in self._in_flight:
                self._in_flight.remove(capture)

    def _owner(self, thread: threading.Thread) -> Capture | None:
        """The exchange a record of `thread` belongs to, or None when no exchange can claim it for sure."""
        with self._guard:
            in_flight = list(self._in_flight)
        for capture in in_flight:
            if capture.knows(thread):
                return capture
        if len(in_flight) == 1 and in_flight[0].claim(thread):
            return in_flight[0]
        return None  # outside any exchange, or one of several in flight: not shown as another's evidence

    def take(self, record: logging.LogRecord) -> None:
        capture = self._owner(threading.current_thread())
        if capture is None:
            return
        try:
            capture.add(self._redact(_ANSI.sub("", self._format(record))))
        except Exception:  # noqa: BLE001 - a log line must never break a run
            capture.add(f"(a record of {record.name} could not be formatted)")

    # -- the loggers -----------------------------------------------------------------------------

    def attach(self) -> "ServerLog":
        with _sinks_lock:
            for name, level in self.loggers.items():
                logger = logging.getLogger(name)
                sink = _sinks.get(name)
                if sink is None:
                    sink = _sinks[name] = _Sink(logger.level)
                    logger.addFilter(sink)
                sink.logs.append(self)
                if logger.level == logging.NOTSET or logger.level > level:
                    logger.setLevel(level)
        return self

    def detach(self) -> None:
        with _sinks_lock:
            for name in self.loggers:
                sink = _sinks.get(name)
                if sink is None or self not in sink.logs:
                    continue
                sink.logs.remove(self)
                if not sink.logs:
                    logger = logging.getLogger(name)
                    logger.removeFilter(sink)
                    logger.setLevel(sink.level_before)
                    del _sinks[name]


def text(lines: Sequence[str]) -> str:
    """Captured lines as one text ("" when there are none)."""
    return "\n".join(lines)
