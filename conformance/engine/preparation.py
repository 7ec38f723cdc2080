"""Making a target's state what a request assumes: the user an update names exists, the user a
registration names does not (if this run made it earlier). Only users of the run's ledger are
deleted; a user to update is registered by the operation's setup (spec: OperationSpec.setup).
Used by a run (conformance/engine/run.py) and by a live comparison (conformance/compare/live_comparison.py),
which sends each step to both of its targets.
"""
from __future__ import annotations

from typing import Any, Callable

from qsconform.conformance.engine.ledger import UserLedger
from qsconform.conformance.engine.users import delete_user
from qsconform.conformance.judging.checks import user_name_of
from qsconform.spec.model import Spec
from qsconform.spec.request import Expected, Request


class NotPrepared(Exception):
    """The target could not be put in the state a request assumes: the example cannot be judged."""


class Preparation:
    """`send` sends a request of the spec, `call` another operation (DeleteUser) with its labels; both return the
    answer (its status and error type are read). `labels(operation, **extra)` gives an operation's URI labels.
    `ours(name)`: whether a user may be registered under that name (None: every name the request holds)."""

    def __init__(self, spec: Spec, ledger: UserLedger, send: Callable[[Request], Any],
                 call: Callable[[str, dict], object], labels: Callable[..., dict],
                 ours: Callable[[str], bool] | None = None):
        self.spec, self.ledger, self._send, self._call, self._labels = spec, ledger, send, call, labels
        self._ours = ours

    def name_of(self, request: Request) -> str | None:
        """The user whose state `prepare(request)` sets, or None when it sets none."""
        setup = self.spec[request.operation].setup
        name = request.path_params.get(setup.member) if setup else user_name_of(request)
        if not isinstance(name, str) or (self._ours is not None and not self._ours(name)):
            return None
        return name

    def assumes(self, request: Request) -> tuple[str, str] | None:
        """What a request assumes of its user: ("present", name), ("absent", name), or None (nothing)."""
        op = self.spec[request.operation]
        setup = op.setup
        name = self.name_of(request)
        if name is None:
            return None
        if setup is not None:
            # A request that breaks the name's own constraints names no user that can exist.
            if not (request.expected.rule_id or "").startswith(f"{op.name}.{setup.member}."):
                return "present", name
        elif request.operation == self.spec.setup_operation:
            # Also before an invalid registration: a target that wrongly accepted it earlier (Hypothesis
            # replays it while shrinking) must judge it again, not answer that the user exists.
            return "absent", name
        return None

    def ready(self, request: Request) -> bool:
        """Whether the target is, as far as the ledger knows, as the request assumes: prepare() would send nothing."""
        assumes = self.assumes(request)
        if assumes is None:
            return True
        state, name = assumes
        return self.ledger.sound(name) if state == "present" else not self.ledger.holds(name)

    def prepare(self, request: Request) -> None:
        assumes = self.assumes(request)
        if assumes is None:
            return
        state, name = assumes
        if state == "present":
            self.ensure_present(name, request.operation)
        else:
            self.ensure_absent(name)

    def ensure_present(self, name: str, operation: str) -> None:
        if self.ledger.sound(name):
            return
        # A user an invalid request made (the target wrongly accepted it) may hold what no registration
        # can, an IdentityType that is an object: an update would be judged on that. Made again.
        self.ensure_absent(name)
        setup = self.spec[operation].setup
        assert setup is not None, "a user is made present only for an operation that names one (its setup)"
        body = dict(setup.body, **{setup.member: name})
        request = Request(operation=setup.operation, path_params=self._labels(setup.operation), body=body,
                          expected=Expected("success"))
        response = self._send(request)
        if not 200 <= response.status < 300:
            raise NotPrepared(f"could not register {name!r} to update it ({response.status} {response.error_type})")

    def ensure_absent(self, name: str) -> None:
        if not self.ledger.holds(name):
            return
        deleted, why = delete_user(self._call, self._labels(self.spec.setup_operation, UserName=name))
        if not deleted:
            raise NotPrepared(f"could not delete {name!r} to register it again ({why})")
        self.ledger.forget(name)
