"""Delete users that earlier runs left behind, and only those: their names start with the run prefix."""
from __future__ import annotations

from qsconform.conformance.targets import Target, TargetError
from qsconform.conformance.transport import Transport
from qsconform.conformance.users import gone

MIN_PREFIX_LENGTH = 4
MAX_PAGES = 1000


class SweepIncomplete(TargetError):
    """Some users under the prefix could not be deleted; `deleted` and `failed` say which."""

    def __init__(self, message: str, deleted: list[str], failed: dict[str, str]):
        super().__init__(message)
        self.deleted, self.failed = deleted, failed


def _ok(response) -> bool:
    return 200 <= response.status < 300


def list_user_names(target: Target, transport: Transport, namespace: str = "default") -> list[str]:
    """Every user name in the namespace (ListUsers, following NextToken)."""
    labels = {"AwsAccountId": target.account_id, "Namespace": namespace}
    names: list[str] = []
    token, seen = None, set()
    for _ in range(MAX_PAGES):
        response = transport.call("ListUsers", labels, query={"NextToken": token})
        if not _ok(response) or not isinstance(response.json_body, dict):
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


def sweep(target: Target, transport: Transport, prefix: str, namespace: str = "default") -> list[str]:
    """Delete every user whose UserName starts with `prefix`; returns the names deleted."""
    if not isinstance(prefix, str) or len(prefix) < MIN_PREFIX_LENGTH:
        raise TargetError(f"refusing to sweep with prefix {prefix!r}: a prefix of at least {MIN_PREFIX_LENGTH} "
                          f"characters (such as a run's qsc-1a2b3c4d-) keeps other users safe")
    deleted: list[str] = []
    failed: dict[str, str] = {}
    for name in list_user_names(target, transport, namespace):
        if not name.startswith(prefix):
            continue
        response = transport.call("DeleteUser", {"AwsAccountId": target.account_id, "Namespace": namespace,
                                                 "UserName": name})
        if _ok(response):
            deleted.append(name)
        elif not gone(response):  # a not-found error: deleted already; a bare 404 page: it may still be there
            failed[name] = f"{response.status} {response.error_type or ''}".rstrip()
    if failed:
        shown = ", ".join(f"{n} ({why})" for n, why in failed.items())
        raise SweepIncomplete(f"deleted {len(deleted)} user(s) but could not delete {len(failed)}: {shown}",
                              deleted, failed)
    return deleted
