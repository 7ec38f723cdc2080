"""What a run knows about the users on a target: whether an answer means a user is gone, what a read says of a
name whose answer was lost, deleting a user until a read agrees, and why a user could not be deleted."""
from __future__ import annotations

import re
from typing import Callable, Iterable

NOT_FOUND = "ResourceNotFoundException"
DELETE_ATTEMPTS = 3


def gone(response) -> bool:
    """A DeleteUser (or DescribeUser) answer that leaves no user behind: success, or the AWS not-found
    error. A bare 404 page is not one: moto answers it for a name its router cannot read, and the user stays."""
    return 200 <= response.status < 300 or response.error_type == NOT_FOUND


def exists(call: Callable, labels: dict) -> bool | None:
    """Whether the user `labels` name exists, as DescribeUser says (a read, which the transport retries when its
    answer is lost): True, False, or None when the answer says neither (no DescribeUser, a bare page, no answer)."""
    from qsconform.conformance.wire.targets import TargetUnreachable
    from qsconform.conformance.wire.transport import AnswerLost, Throttled

    try:
        answer = call("DescribeUser", labels)
    except (AnswerLost, Throttled, TargetUnreachable):
        return None
    if 200 <= answer.status < 300:
        return True
    return False if answer.error_type == NOT_FOUND else None


def delete_user(call: Callable, labels: dict, attempts: int = DELETE_ATTEMPTS) -> tuple[bool, str]:
    """DeleteUser of the user `labels` name, by `call(operation, labels)`: (gone, why not). A delete whose answer
    was lost is not taken for done: a read (DescribeUser) says whether the user is still there, and it is deleted
    again while it is, up to `attempts` times."""
    from qsconform.conformance.wire.transport import AnswerLost

    why = ""
    for _ in range(attempts):
        try:
            answer = call("DeleteUser", labels)
        except AnswerLost:
            if exists(call, labels) is False:
                return True, ""
            why = "the answers to DeleteUser were lost (connection broken), and no read said it was gone"
            continue
        if gone(answer):
            return True, ""
        return False, f"DeleteUser answered {answer.status} {answer.error_type or '(no AWS error type)'}"
    return False, why


def listed_names(transport, account_id: str, namespace: str, max_pages: int = 1000) -> set[str] | None:
    """Every user name ListUsers gives in a namespace (following NextToken), or None when the target cannot list
    them (no ListUsers, a refusal, an answer lost): a read of what is there, whatever a delete answered."""
    from qsconform.conformance.wire.targets import TargetUnreachable
    from qsconform.conformance.wire.transport import AnswerLost, Throttled

    labels = {"AwsAccountId": account_id, "Namespace": namespace}
    names: set[str] = set()
    token, seen = None, set()
    for _ in range(max_pages):
        try:
            answer = transport.call("ListUsers", labels, query={"NextToken": token})
        except (AnswerLost, Throttled, TargetUnreachable):
            return None
        page = answer.json_body if 200 <= answer.status < 300 and answer.is_json else None
        if not isinstance(page, dict):
            return None
        names |= {u["UserName"] for u in page.get("UserList") or [] if isinstance(u, dict)
                  and isinstance(u.get("UserName"), str)}
        token = page.get("NextToken")
        if not token or token in seen:
            return names
        seen.add(token)
    return None


# -- why a user stayed: one line per kind of name ------------------------------------------------------------

_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


def kind_of(name: str, why: str) -> str:
    """What a user left behind has in common with others, in words a reader can act on: the gaps of the target
    that explain it (several are moto's, said so), else the answer it gave."""
    if name == "":
        return "an empty name, which no URL can address (the target accepted an empty UserName)"
    if "/" in name and "(no AWS error type)" in why:
        return "names holding '/', which the target cannot route (DeleteUser: a bare 404; moto decodes %2F first)"
    if _ENCODED.search(name) and "still listed" in why:
        return ("names holding '%' and two hex digits: DeleteUser said done, ListUsers still lists them (moto decodes "
                "the path twice and deletes another name)")
    if "still listed" in why:
        return "DeleteUser answered success, but ListUsers still lists them"
    return why


def kinds(why_left: dict[str, str]) -> list[dict]:
    """The names left behind, grouped by kind_of: [{"kind": words, "names": [...]}], the largest group first."""
    groups: dict[str, list[str]] = {}
    for name, why in why_left.items():
        groups.setdefault(kind_of(name, why), []).append(name)
    return [{"kind": kind, "names": names} for kind, names in sorted(groups.items(), key=lambda kv: -len(kv[1]))]


UNNAMED = ("registration(s) answered without a UserName, whose users no DeleteUser can name (moto keeps IAM "
           "identities under the name None): left on the target")


def unnamed_kind(count: int) -> list[dict]:
    """The registrations a target answered with no user name, as one more kind (see kinds): `count` registrations,
    not users (moto keeps every one of them under the one name None)."""
    return [{"kind": UNNAMED, "names": [], "count": count}] if count else []


def names_of(groups: Iterable[dict]) -> list[str]:
    return [name for group in groups for name in group["names"]]
