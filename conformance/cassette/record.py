"""The Cassette: the interactions of one run, recorded from a Transport's observers and saved as one JSON file."""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from contextlib import contextmanager
from pathlib import Path

from qsconform.conformance.cassette.format import SCHEMA_VERSION, CassetteError
from qsconform.conformance.cassette.names import UserNames
from qsconform.conformance.cassette.normalise import Normaliser
from qsconform.conformance.wire.redact import Redactor


class Cassette:
    """The interactions of one run, in the order they happened.

    Recording: `Cassette.recording(path, target=..., prefix=...)`, append `.observe` to a
    Transport's observers, wrap the judging of a rule in `with cassette.judging(rule_id):` (per thread:
    rules judged side by side each label their own exchanges), and `.save()` at the end, also after a failure.
    """

    def __init__(self, interactions: list[dict] | None = None, users: dict[str, str] | None = None,
                 prefix_length: int | None = None, path: Path | None = None, source: str | None = None):
        self.interactions = interactions if interactions is not None else []
        self.users = users if users is not None else {}  # reference -> the name after the prefix
        self.prefix_length, self.path, self.source = prefix_length, path, source
        self._judging = threading.local()  # .rule_id: the rule this thread is judging
        self.region: str | None = None
        self.recorded_at: str | None = None  # UTC, when recording began
        self._normaliser: Normaliser | None = None
        self._lock = threading.Lock()

    @classmethod
    def recording(cls, path: str | os.PathLike, *, target, prefix: str) -> "Cassette":
        cassette = cls(path=Path(path), prefix_length=len(prefix), source=_target_kind(target))
        cassette.region = target.region
        cassette.recorded_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        cassette._normaliser = Normaliser(target.account_id, target.region, UserNames(prefix, cassette.users),
                                          target.redactor)
        return cassette

    @property
    def rule_id(self) -> str | None:
        """The rule the calling thread is judging (None outside any)."""
        return getattr(self._judging, "rule_id", None)

    @contextmanager
    def judging(self, rule_id: str | None):
        before, self._judging.rule_id = self.rule_id, rule_id
        try:
            yield self
        finally:
            self._judging.rule_id = before

    def observe(self, sent) -> None:
        """A Transport observer: record one request and its final answer (a qsconform.conformance.wire.transport.Sent)."""
        if self._normaliser is None:
            raise CassetteError("this cassette was loaded, not opened for recording")
        with self._lock:
            n = self._normaliser
            interaction = n.request(sent.operation, sent.path_params, sent.body, sent.query)
            interaction["rule_id"] = self.rule_id  # the rule of the thread that sent it
            interaction["response"] = n.response(sent.response)
            self.interactions.append(interaction)

    def as_dict(self) -> dict:
        document = {"schema_version": SCHEMA_VERSION, "recorded_from": self.source, "region": self.region,
                    "recorded_at": self.recorded_at,
                    "user_prefix_length": self.prefix_length, "users": dict(self.users),
                    "interactions": list(self.interactions)}
        redactor = self._normaliser.redactor if self._normaliser else Redactor()
        return redactor.redact(document)

    def save(self) -> Path:
        """Write the cassette to its path (atomically: a reader never sees half a file)."""
        if self.path is None:
            raise CassetteError("no path to save the cassette to")
        with self._lock:
            text = json.dumps(self.as_dict(), indent=1, ensure_ascii=True)  # ASCII: escaped odd bytes survive
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text + "\n", encoding="ascii")
        os.replace(tmp, self.path)
        return self.path


def _target_kind(target) -> str:
    """What recorded the cassette, without a host name: aws, moto, reference, or "url"."""
    return target.name if target.name in ("aws", "moto", "reference") else "url"
