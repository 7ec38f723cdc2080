"""The reference server's users, in memory, kept per (account, namespace).

Any 12-digit account is taken to be signed up; only the namespace `default`
exists in it (both pages: "Currently, you should set this to default").
"""
from __future__ import annotations

import builtins
import threading
from dataclasses import dataclass, replace
from typing import Any

NAMESPACES = ("default",)


class UserExists(Exception):
    pass


class UserNotFound(Exception):
    pass


@dataclass(frozen=True)
class User:
    account: str
    namespace: str
    user_name: str
    arn: str
    email: Any
    role: str
    identity_type: str
    principal_id: str
    active: bool = False  # observed #4: a new user is inactive until it signs in
    custom_permissions_name: str | None = None
    external_login_type: str | None = None
    external_login_url: str | None = None
    external_login_id: str | None = None
    tags: tuple = ()

    def changed(self, **values: Any) -> "User":
        return replace(self, **values)

    def view(self) -> dict:
        """The model's User structure; optional members only when they hold a value."""
        out = {"Arn": self.arn, "UserName": self.user_name, "Email": self.email, "Role": self.role,
               "IdentityType": self.identity_type, "Active": self.active, "PrincipalId": self.principal_id}
        optional = {"CustomPermissionsName": self.custom_permissions_name,
                    "ExternalLoginFederationProviderType": self.external_login_type,
                    "ExternalLoginFederationProviderUrl": self.external_login_url,
                    "ExternalLoginId": self.external_login_id}
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.email is None:
            del out["Email"]
        return out


class Store:
    """Users by account, namespace and name, in the order they were registered. Thread-safe."""

    def __init__(self, namespaces: tuple[str, ...] = NAMESPACES):
        self.namespaces = tuple(namespaces)
        self._users: dict[tuple[str, str], dict[str, User]] = {}
        self._stale: dict[tuple[str, str, str], User] = {}  # variant describe_lags: what the next read shows
        self._lock = threading.Lock()

    def namespace_exists(self, account: str, namespace: str) -> bool:
        return namespace in self.namespaces

    def _space(self, account: str, namespace: str) -> dict[str, User]:
        return self._users.setdefault((account, namespace), {})

    def add(self, user: User) -> User:
        """Keep a new user; returns the user as kept (a fault's view may keep it otherwise)."""
        with self._lock:
            space = self._space(user.account, user.namespace)
            if user.user_name in space:
                raise UserExists(user.user_name)
            space[user.user_name] = user
            return user

    def get(self, account: str, namespace: str, name: str) -> User:
        with self._lock:
            try:
                return self._space(account, namespace)[name]
            except KeyError:
                raise UserNotFound(name) from None

    def replace(self, user: User) -> User:
        """Keep the new state of a user; returns the user as kept."""
        with self._lock:
            self._space(user.account, user.namespace)[user.user_name] = user
            return user

    def lag(self, before: User) -> None:
        """The next read_lagging of this user answers `before` (an update not yet visible everywhere)."""
        with self._lock:
            self._stale[(before.account, before.namespace, before.user_name)] = before

    def read_lagging(self, account: str, namespace: str, name: str) -> User:
        """The user as a read that may lag shows it: the state before its last update, once, then as kept."""
        current = self.get(account, namespace, name)
        with self._lock:
            return self._stale.pop((account, namespace, name), current)

    def delete(self, account: str, namespace: str, name: str) -> None:
        with self._lock:
            self._stale.pop((account, namespace, name), None)
            if self._space(account, namespace).pop(name, None) is None:
                raise UserNotFound(name)

    def accounts(self) -> list[str]:
        """The accounts that hold users (or held them), in the order they first did."""
        with self._lock:
            return list(dict.fromkeys(account for account, _ in self._users))

    def list(self, account: str, namespace: str) -> list[User]:
        with self._lock:
            return list(self._space(account, namespace).values())

    def names(self, account: str, namespace: str = "default") -> builtins.list[str]:  # `list` here is the method above
        return [u.user_name for u in self.list(account, namespace)]

    def reset(self) -> None:
        with self._lock:
            self._users.clear()
            self._stale.clear()
