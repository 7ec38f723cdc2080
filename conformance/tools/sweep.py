"""Delete users that earlier runs left behind, and only those: their names start with the run prefix.

What is gone is read, not taken from the deletes' answers: the users are listed again at the end, and a user
still listed is deleted once more, then reported with why (conformance/engine/users.py groups them by kind).
"""
from __future__ import annotations

from typing import Callable

from qsconform.conformance.engine.users import delete_user, kinds
from qsconform.conformance.wire.targets import Target, TargetError
from qsconform.conformance.wire.transport import Transport

MIN_PREFIX_LENGTH = 4
MAX_PAGES = 1000


class SweepIncomplete(Exception):
    """Some users under the prefix could not be deleted: `deleted` and `failed` (name -> why) say which; `kinds`
    groups the failed ones by why (users.kinds)."""

    def __init__(self, message: str, deleted: list[str], failed: dict[str, str]):
        super().__init__(message)
        self.deleted, self.failed = deleted, failed
        self.kinds = kinds(failed)


def list_user_names(target: Target, transport: Transport, namespace: str = "default") -> list[str]:
    """Every user name in the namespace (ListUsers, following NextToken); TargetError when they cannot be listed."""
    labels = {"AwsAccountId": target.account_id, "Namespace": namespace}
    names: list[str] = []
    token, seen = None, set()
    for _ in range(MAX_PAGES):
        response = transport.call("ListUsers", labels, query={"NextToken": token})
        if not 200 <= response.status < 300 or not isinstance(response.json_body, dict):
            raise TargetError(f"ListUsers answered {response.status} {response.error_type or ''}".rstrip()
                              + ": cannot see which users to delete")
        page = response.json_body
        names += [u["UserName"] for u in page.get("UserList") or [] if isinstance(u, dict)
                  and isinstance(u.get("UserName"), str)]
        token = page.get("NextToken")
        if not token or token in seen:  # a repeated token would loop forever
            return names
        seen.add(token)
    raise TargetError(f"ListUsers gave more than {MAX_PAGES} pages")


def sweep(target: Target, transport: Transport, prefix: str, namespace: str = "default",
          deleted_one: Callable[[str], None] = lambda name: None) -> list[str]:
    """Delete every user whose UserName starts with `prefix` (`deleted_one(name)` told as each goes); returns the
    names deleted, or raises SweepIncomplete when some are still listed after a second try."""
    if not isinstance(prefix, str) or len(prefix) < MIN_PREFIX_LENGTH:
        raise TargetError(f"refusing to sweep with prefix {prefix!r}: a prefix of at least {MIN_PREFIX_LENGTH} "
                          f"characters (such as a run's qsc-1a2b3c4d-) keeps other users safe")
    labels = {"AwsAccountId": target.account_id, "Namespace": namespace}
    deleted: list[str] = []
    failed: dict[str, str] = {}
    pending = [name for name in list_user_names(target, transport, namespace) if name.startswith(prefix)]
    for _ in range(2):  # each still listed after its delete is deleted once more
        for name in pending:
            gone, why = delete_user(transport.call, {**labels, "UserName": name})
            if not gone:
                failed[name] = why
        still = set(list_user_names(target, transport, namespace))
        for name in pending:
            if name in still:
                failed.setdefault(name, "DeleteUser answered success, but the user is still listed")
            else:
                failed.pop(name, None)
                deleted.append(name)
                deleted_one(name)
        pending = [name for name in pending if name in still]
        if not pending:
            break
    if failed:
        raise SweepIncomplete(f"deleted {len(deleted)} user(s) but could not delete {len(failed)}", deleted, failed)
    return deleted
