"""The users a run (or one side of a comparison) created on a target: what "do no harm" rests on.

A user is recorded once the target says it created it; a name is "in flight" while a creating request
has no answer yet, since an interrupt (Ctrl-C) or a lost connection can come in between: only an answer
that says nothing was created (throttling) takes it off. At the end, every recorded user and every name
in flight under the run's prefix is deleted; a name in flight outside the prefix (an --iam-arn identity
on a live account, which may have existed before) is left alone and reported. Each name keeps the
namespace it was made in. Used by a run and by each side of a comparison. Thread-safe.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Type


class UserLedger:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.created: list[str] = []  # every registration this run made, in order (a name twice if re-created)
        self.maybe_created: list[str] = []  # names outside the prefix an interrupted request may have registered
        self._present: set[str] = set()
        self._unsound: set[str] = set()  # held, but made by a request that should have been refused
        self._in_flight: set[str] = set()
        self._namespaces: dict[str, str | None] = {}
        self.deleted = 0  # users this ledger held and saw deleted
        self._lock = threading.RLock()

    @contextmanager
    def creating(self, name: str | None, namespace: str | None = None,
                 refused: tuple[Type[BaseException], ...] = ()) -> Iterator[None]:
        """While a request that may create `name` has no answer. An exception of a `refused` type (the target
        said no: nothing was created) forgets the name; any other (an interrupt, a lost connection) leaves it
        in flight for cleanup()."""
        if name is None:
            yield
            return
        with self._lock:
            self._in_flight.add(name)
            self._namespaces.setdefault(name, namespace)
        try:
            yield
        except refused:
            with self._lock:
                self._in_flight.discard(name)
            raise
        with self._lock:
            self._in_flight.discard(name)

    def record(self, name: str, namespace: str | None = None, sound: bool = True) -> bool:
        """The target created `name` (in `namespace`); `sound`: by a request it should accept (not an
        invalid one it wrongly accepted, which may have stored what no valid request can). Whether the
        name is new (not held already: a registration that replaced a user is none)."""
        with self._lock:
            new = name not in self._present
            if new:
                self.created.append(name)
            self._present.add(name)
            self._namespaces[name] = namespace
            if sound:
                self._unsound.discard(name)
            else:
                self._unsound.add(name)
            return new

    def sound(self, name: str) -> bool:
        """Held, and made by a request the target should accept."""
        with self._lock:
            return name in self._present and name not in self._unsound

    def namespace_of(self, name: str) -> str | None:
        with self._lock:
            return self._namespaces.get(name)

    def forget(self, name: str) -> None:
        """`name` was deleted."""
        with self._lock:
            self.deleted += name in self._present
            self._present.discard(name)
            self._unsound.discard(name)

    def holds(self, name: str) -> bool:
        with self._lock:
            return name in self._present

    def cleanup(self, delete: Callable[[str], bool], workers: int = 1) -> list[str]:
        """Delete (`delete(name)` -> whether it is gone) every user held, the last created first (`workers` at
        once: users are independent, and a run that judged rules side by side pays no round trip per user);
        the names left behind."""
        with self._lock:
            for name in sorted(self._in_flight - self._present):
                if name.startswith(self.prefix):
                    self.created.append(name)
                    self._present.add(name)
                elif name not in self.maybe_created:
                    self.maybe_created.append(name)
            self._in_flight.clear()
        def one(name: str) -> bool:
            if not self.holds(name):
                return True
            try:
                ok = delete(name)
            except Exception:  # a cleanup that fails reports the name; it must not hide the first error
                ok = False
            if ok:
                self.forget(name)
            return ok

        names = list(dict.fromkeys(reversed(self.created)))
        if workers > 1 and len(names) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(workers, len(names)), thread_name_prefix="qsconform-cleanup") as pool:
                done = list(pool.map(one, names))
        else:
            done = [one(name) for name in names]
        return [name for name, ok in zip(names, done) if not ok]
