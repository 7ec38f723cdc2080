"""One side of a comparison: a target, names under its own prefix, and the users it got created there.

Do no harm: names come from a fresh prefix, a user is deleted at the end only if this side created it,
on a live target a recorded request that would update or delete a user not made here is refused, and a
live comparison registers no more than its --max-users there (`max_users`).
"""
from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from typing import Any

from qsconform.conformance.cassette import CassetteError, Denormaliser, Normaliser, UserNames
from qsconform.conformance.engine.ledger import UserLedger
from qsconform.conformance.engine.users import delete_user, gone, kinds, listed_names
from qsconform.spec.request import Expected, Request

READ_ONLY = re.compile(r"^(Describe|List|Get|Search)")
STANDARD_PREFIX_LENGTH = len("qsc-12345678-")


def fresh_prefix(length: int | None = None) -> str:
    """A new run prefix ("qsc-<hex>-") of `length` characters, so that names keep their recorded length;
    the standard length when `length` leaves too little room to be unique."""
    length = length if length and length >= STANDARD_PREFIX_LENGTH else STANDARD_PREFIX_LENGTH
    return f"qsc-{secrets.token_hex(length)[:length - 5]}-"


def setup_operation_name(spec) -> str | None:
    """The operation that creates users: the one other operations name as their setup."""
    return spec.setup_operation or None


def describe_target(target) -> str:
    from qsconform.conformance.wire.targets import describe
    return describe(target.name, target.endpoint)


class Side:
    """A target being compared: its transport, names under its own prefix, and the users it got created."""

    def __init__(self, transport, target, prefix: str, suffixes: Mapping[str, str], label: str):
        self.transport, self.target, self.label = transport, target, label
        self.spec = transport.spec
        self.users = UserNames(prefix, dict(suffixes))
        self.denormalise = Denormaliser(target.account_id, target.region, self.users)
        self.normalise = Normaliser(target.account_id, target.region, self.users, target.redactor)
        self.setup_operation = setup_operation_name(self.spec) or "RegisterUser"
        self.ledger = UserLedger(prefix)  # the users this side got created (conformance/engine/ledger.py)
        self.unnamed = 0  # registrations accepted without a user name to delete the user by
        self.left_kinds: list[dict] = []  # after cleanup: the names left behind, by why (users.kinds)
        self.registered: Counter = Counter()  # the users the target registered here, by role
        self.max_users: int | None = None  # on a live target, the registrations this side may make

    @property
    def registrations(self) -> int:
        return sum(self.registered.values())

    def refusal(self, interaction: Mapping[str, Any]) -> str | None:
        """Why a recorded request must not be sent here: on a live target, touching a user not made here, or a
        registration beyond --max-users (any registration may make a user: an invalid one the target accepts)."""
        operation = interaction["operation"]
        if operation == self.setup_operation and self.max_users is not None and self.registrations >= self.max_users:
            return f"a registration beyond --max-users {self.max_users} on a live target"
        if not self.target.live or operation == self.setup_operation or READ_ONLY.match(operation):
            return None
        name = interaction["path_params"].get("UserName")
        if not isinstance(name, str):
            return None
        real = self.denormalise.text(name)
        if real.startswith(self.users.prefix) or self.ledger.holds(real):
            return None
        return f"{operation} of a user this comparison did not create, on a live target"

    def exchange(self, interaction: Mapping[str, Any]) -> dict:
        """Send one recorded request, made real for this target; the normalised answer."""
        operation = interaction["operation"]
        params = self.denormalise.value(interaction["path_params"])
        query = self.denormalise.value(interaction["query"]) if interaction.get("query") else None
        body = self.denormalise.body_bytes(interaction)
        name = _sent_user_name(body) if operation == self.setup_operation else None
        ours = name if name is not None and name.startswith(self.users.prefix) else None  # cannot be someone else's
        # on an exception the name stays in flight: the registration may have happened, so cleanup deletes it
        with self.ledger.creating(ours, params.get("Namespace", "default")):
            response = self._send(operation, params, query, interaction, body)
            self._track(operation, params, body, response)
        return self.normalise.response(response)

    def _send(self, operation: str, params: dict, query: dict | None, interaction: Mapping[str, Any], body: bytes):
        if operation in self.spec.operations and not query:
            return self.transport.send(Request(operation, params, None, Expected("success"), raw_body=body))
        if interaction.get("raw_body"):
            raise CassetteError(f"{operation} is not an operation of the spec, so its body must be JSON")
        payload = self.denormalise.value(interaction["body"]) if "body" in interaction else None
        return self.transport.call(operation, params, payload, query=query)

    def _track(self, operation: str, params: Mapping[str, Any], body: bytes, response) -> None:
        if operation == "DeleteUser":
            deleted = params.get("UserName")
            if gone(response) and deleted is not None:  # a DeleteUser without a name deleted nobody we know
                self.ledger.forget(deleted)
        elif operation == self.setup_operation and 200 <= response.status < 300:
            answered = response.json_body if response.is_json and isinstance(response.json_body, dict) else {}
            name = (answered.get("User") or {}).get("UserName") if isinstance(answered.get("User"), dict) else None
            if not isinstance(name, str) and (isinstance(answered.get("User"), dict) or _sent_user_name(body) is None):
                self.unnamed += 1  # the target keeps it under no name it told (moto: None); deleting by name fails
            name = name if isinstance(name, str) else _sent_user_name(body)
            # Deleted at the end; a read says whether it was there at all.
            new = self.ledger.record(name, params.get("Namespace", "default")) if isinstance(name, str) else True
            if new:
                try:
                    role = json.loads(body).get("UserRole")
                except (ValueError, AttributeError, UnicodeDecodeError):
                    role = None
                self.registered[role if isinstance(role, str) else "(none)"] += 1

    def cleanup(self) -> list[str]:
        """Delete every user this side got created (or may have, when interrupted); the names left behind."""
        def delete(name: str) -> tuple[bool, str]:
            namespace = self.ledger.namespace_of(name) or "default"
            return delete_user(self.transport.call, {"AwsAccountId": self.target.account_id, "Namespace": namespace,
                                                     "UserName": name})

        def listed(names: list[str]) -> set[str] | None:
            spaces = {self.ledger.namespace_of(name) or "default" for name in names}
            found: set[str] = set()
            for namespace in spaces:
                got = listed_names(self.transport, self.target.account_id, namespace)
                if got is None:
                    return None
                found |= got
            return found

        left = [self.target.redactor.redact(name) for name in self.ledger.cleanup(delete, listed=listed)]
        self.left_kinds = kinds(self.ledger.why_left)
        if self.unnamed:
            left.append(f"{self.unnamed} user(s) registered with no UserName in the answer or the request")
        return left


def _sent_user_name(body: bytes) -> str | None:
    """The name of the user a registration's body makes: its UserName, or for an IAM identity the name its ARN
    gives (checks.user_name_of)."""
    from qsconform.conformance.judging.checks import user_name_of

    try:
        sent = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(sent, dict):
        return None
    name = user_name_of(Request("RegisterUser", {}, sent, Expected("success")))
    return name if isinstance(name, str) else None
