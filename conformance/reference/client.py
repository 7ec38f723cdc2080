"""A small unsigned client of the reference server, for its tests and for trying it by hand.

Labels are percent-encoded as whole path segments (UTF-8), so a user name
holding '/', '%', ' ' or 'é' reaches the server as one label.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

ACCOUNT = "123456789012"


def quicksight_user(name: str, **members: Any) -> dict:
    """A valid RegisterUser body for a QUICKSIGHT identity."""
    return {"Email": "qsc@example.com", "IdentityType": "QUICKSIGHT", "UserRole": "READER", "UserName": name,
            **members}


def iam_user(iam_arn: str, **members: Any) -> dict:
    """A valid RegisterUser body for an IAM identity (add SessionName for a role)."""
    return {"Email": "qsc@example.com", "IdentityType": "IAM", "UserRole": "AUTHOR", "IamArn": iam_arn, **members}


class Client:
    def __init__(self, url: str, account: str = ACCOUNT, namespace: str = "default"):
        self.url, self.account, self.namespace = url.rstrip("/"), account, namespace
        self.session = requests.Session()

    def users_path(self, account: str | None = None, namespace: str | None = None) -> str:
        account = self.account if account is None else account
        namespace = self.namespace if namespace is None else namespace
        return f"/accounts/{quote(account, safe='')}/namespaces/{quote(namespace, safe='')}/users"

    def user_path(self, name: str, **where: str) -> str:
        return f"{self.users_path(**where)}/{quote(name.encode('utf-8'), safe='')}"

    def send(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict | None = None, params: dict | None = None) -> requests.Response:
        """One request; `body` is sent as JSON, `raw` as the bytes given. The path goes out as built:
        requests would otherwise remove dot segments (a user named '..')."""
        prepared = self.session.prepare_request(requests.Request(
            method, self.url + path, json=body if raw is None else None, data=raw, headers=headers, params=params))
        assert prepared.url is not None, "prepare_request sets the url of a request that has one"
        query = prepared.url.partition("?")[2]
        prepared.url = self.url + path + ("?" + query if query else "")
        return self.session.send(prepared, timeout=10)

    def register(self, body: Any = None, *, raw: bytes | None = None, **where: str) -> requests.Response:
        return self.send("POST", self.users_path(**where), body, raw=raw,
                         headers={"Content-Type": "application/json"})

    def update(self, name: str, body: Any = None, *, raw: bytes | None = None, **where: str) -> requests.Response:
        return self.send("PUT", self.user_path(name, **where), body, raw=raw,
                         headers={"Content-Type": "application/json"})

    def describe(self, name: str, **where: str) -> requests.Response:
        return self.send("GET", self.user_path(name, **where))

    def delete(self, name: str, **where: str) -> requests.Response:
        return self.send("DELETE", self.user_path(name, **where))

    def list(self, max_results: int | None = None, next_token: str | None = None, **where: str) -> requests.Response:
        params = {k: v for k, v in {"max-results": max_results, "next-token": next_token}.items() if v is not None}
        return self.send("GET", self.users_path(**where), params=params)
