"""The users a run (or one side of a comparison) created on a target: what "do no harm" rests on.

A user is recorded once the target says it created it. A request that may create a user and got no answer (an
interrupt, Ctrl-C, or a lost connection came in between) leaves its name of unknown fate: only a read that
says whether the user exists (`settle`), or a later answer that created it, takes it off; an answer that says
nothing was created (throttling) leaves nothing behind. At the end every recorded user and every name of
unknown fate under the run's prefix is deleted, and whether it is gone is verified by reading when the caller
can read (`cleanup`'s `listed`); a name of unknown fate outside the prefix (an --iam-arn identity on a live
account, which may have existed before) is left alone, and reported unless a read finds it is not there. Each name keeps the namespace it was made
in. Used by a run and by each side of a comparison. Thread-safe.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, Type

LOST = "fate unknown: the answer to the request that may have registered it was lost, and no read could tell"


class UserLedger:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.created: list[str] = []  # every registration this run made, in order (a name twice if re-created)
        self.maybe_created: list[str] = []  # names outside the prefix an interrupted request may have registered
        self.why_left: dict[str, str] = {}  # after cleanup: each name left behind, and why
        self._present: set[str] = set()
        self._unsound: set[str] = set()  # held, but made by a request that should have been refused
        self._unknown: set[str] = set()  # a creating request got no answer: the user may exist
        self._namespaces: dict[str, str | None] = {}
        self.deleted = 0  # users this ledger held and saw deleted
        self._lock = threading.RLock()

    @contextmanager
    def creating(self, name: str | None, namespace: str | None = None,
                 refused: tuple[Type[BaseException], ...] = ()) -> Iterator[None]:
        """While a request that may create `name` has no answer. An exception of a `refused` type (the target
        said no: nothing was created) leaves nothing; any other (an interrupt, a lost answer) leaves the name of
        unknown fate, for `settle` or cleanup()."""
        if name is None:
            yield
            return
        with self._lock:
            self._namespaces.setdefault(name, namespace)
        try:
            yield
        except refused:
            raise
        except BaseException:
            with self._lock:
                self._unknown.add(name)
            raise

    def record(self, name: str, namespace: str | None = None, sound: bool = True) -> bool:
        """The target created `name` (in `namespace`); `sound`: by a request it should accept (not an
        invalid one it wrongly accepted, which may have stored what no valid request can). Whether the
        name is new (not held already: a registration that replaced a user is none)."""
        with self._lock:
            new = name not in self._present
            if new:
                self.created.append(name)
            self._present.add(name)
            self._unknown.discard(name)
            self._namespaces[name] = namespace
            if sound:
                self._unsound.discard(name)
            else:
                self._unsound.add(name)
            return new

    def settle(self, name: str, exists: bool | None, sound: bool = False) -> None:
        """What a read (DescribeUser) said of a name after a lost answer: it exists (held from now on; `sound` as for
        record), it does not (forgotten), or None: nobody knows (of unknown fate; held users become unsound, since
        what a lost update did to them is not known either)."""
        with self._lock:
            if exists is None:
                if name in self._present:
                    self._unsound.add(name)
                else:
                    self._unknown.add(name)
            elif exists and name not in self._present and not name.startswith(self.prefix):
                # It may have existed before the run (an --iam-arn identity): left alone, reported.
                self._unknown.discard(name)
                if name not in self.maybe_created:
                    self.maybe_created.append(name)
            elif exists:
                self.record(name, self._namespaces.get(name), sound=sound and name not in self._unsound)
            else:
                self.forget(name)

    def unsettle(self, name: str) -> None:
        """What the target holds under `name` is no longer what the ledger knows (a lost update): made again before
        it is relied on."""
        with self._lock:
            if name in self._present:
                self._unsound.add(name)

    def sound(self, name: str) -> bool:
        """Held, and made by a request the target should accept."""
        with self._lock:
            return name in self._present and name not in self._unsound

    def namespace_of(self, name: str) -> str | None:
        with self._lock:
            return self._namespaces.get(name)

    def forget(self, name: str) -> None:
        """`name` was deleted, or a read said it is not there."""
        with self._lock:
            self.deleted += name in self._present
            self._present.discard(name)
            self._unsound.discard(name)
            self._unknown.discard(name)

    def holds(self, name: str) -> bool:
        with self._lock:
            return name in self._present

    def unknown(self) -> list[str]:
        """Names of unknown fate, sorted."""
        with self._lock:
            return sorted(self._unknown - self._present)

    def cleanup(self, delete: Callable[[str], "bool | tuple[bool, str]"], workers: int = 1,
                listed: Callable[[list[str]], "Iterable[str] | None"] | None = None) -> list[str]:
        """Delete every user held and every name of unknown fate under the prefix, the last created first (`workers`
        at once: users are independent, and a run that judged rules side by side pays no round trip per user); the
        names left behind, each with why in `why_left`.

        `delete(name)` tells whether the user is gone (and, when not, why). `listed(names)`, when given, reads which
        of the names the target still lists (None: it cannot tell): a name still listed is deleted once more and
        read again, one not listed is gone whatever its delete answered. Without a list, a name of unknown fate is
        only as gone as its delete says."""
        with self._lock:
            outside = []
            for name in sorted(self._unknown - self._present):
                if name.startswith(self.prefix):
                    self.created.append(name)
                elif name not in self.maybe_created:
                    outside.append(name)
        with self._lock:
            self._unknown -= set(outside)  # settled here: left alone, and reported unless a read finds it gone
        if outside and listed is not None:
            there = _still_listed(listed, outside)
            outside = [name for name in outside if there is None or name in there]
        with self._lock:
            self.maybe_created += outside
            unknown = {name for name in self._unknown if name.startswith(self.prefix)}
            self._present |= unknown
        why: dict[str, str] = {}

        def one(name: str) -> bool:
            if not self.holds(name):
                return True
            try:
                said = delete(name)
            except Exception as exc:  # a cleanup that fails reports the name; it must not hide the first error
                said = (False, f"DeleteUser failed: {type(exc).__name__}")
            ok, because = said if isinstance(said, tuple) else (said, "")
            if ok:
                self.forget(name)
            else:
                why[name] = because or "DeleteUser did not say it was gone"
            return ok

        def each(names: list[str]) -> list[bool]:
            if workers > 1 and len(names) > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(workers, len(names)), thread_name_prefix="qsconform-cleanup") as pool:
                    return list(pool.map(one, names))
            return [one(name) for name in names]

        names = list(dict.fromkeys(reversed(self.created)))
        done = dict(zip(names, each(names)))
        if listed is not None:
            first = _still_listed(listed, names)
            if first is not None:
                for name in names:
                    # Read: not there, whatever its delete answered, unless the target refused that delete with an
                    # error of its own (access denied, throttled): a list may lag, a refusal is an answer.
                    refused = not done[name] and name not in unknown and _refused(why.get(name, ""))
                    if name not in first and not refused:
                        done[name] = True
                        self.forget(name)
                again = [name for name in names if name in first]
                for name in again:  # still there: deleted once more (a delete that said so included), read again
                    with self._lock:
                        self._present.add(name)
                    if done[name]:
                        why[name] = "DeleteUser answered success, but the user is still listed"
                done.update(zip(again, each(again)))
                second = _still_listed(listed, again) if again else set()
                for name in again:
                    if second is not None and name not in second:
                        done[name] = True
                        self.forget(name)
                    else:
                        done[name] = False
                        with self._lock:
                            self._present.add(name)
            else:
                listed = None
        if listed is None:
            for name in unknown:
                if not done.get(name, True):
                    why[name] = LOST
        left = [name for name in names if not done[name]]
        self.why_left = {name: why.get(name, "not deleted") for name in left}
        return left


def _refused(why: str) -> bool:
    """Whether a failed delete was refused by the target with an error type of its own (not a bare page, not lost)."""
    return why.startswith("DeleteUser answered") and "(no AWS error type)" not in why \
        and not why.startswith("DeleteUser answered success")


def _still_listed(listed, names: list[str]) -> set[str] | None:
    try:
        got = listed(names)
    except Exception:  # a read that fails tells nothing; the deletes' own answers stand
        return None
    return None if got is None else set(got) & set(names)
