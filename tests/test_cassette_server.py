"""A small QuickSight server on loopback that answers RegisterUser, UpdateUser and the user helpers as the
real API is documented and observed to: 201 and 200 with JSON, request ids in the header and the body,
404 ResourceNotFoundException, 409 ResourceExistsException. The cassette and compare tests record from it.

`echo_secrets` makes it hostile: it copies the request's headers (Authorization, X-Amz-Security-Token,
X-Amz-Date) and a timestamp into every answer, to prove a cassette keeps none of them.
`throttle_first` answers the first n requests 429 ThrottlingException; `register_status` is one
deliberate deviation (200 instead of 201) for the allowance tests.
The tests in this file pin that behaviour down, so the other tests can lean on it.
"""
from __future__ import annotations

import json
import secrets
import threading
import uuid
from datetime import datetime, timezone

import pytest
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

ROLES = {"ADMIN", "AUTHOR", "READER", "RESTRICTED_AUTHOR", "RESTRICTED_READER", "ADMIN_PRO", "AUTHOR_PRO", "READER_PRO"}
IDENTITIES = {"IAM", "QUICKSIGHT", "IAM_IDENTITY_CENTER"}

_ROUTES = Map([
    Rule("/accounts/<account>/namespaces/<namespace>/users", methods=["POST"], endpoint="register"),
    Rule("/accounts/<account>/namespaces/<namespace>/users", methods=["GET"], endpoint="list"),
    Rule("/accounts/<account>/namespaces/<namespace>/users/<path:name>", methods=["PUT"], endpoint="update"),
    Rule("/accounts/<account>/namespaces/<namespace>/users/<path:name>", methods=["GET"], endpoint="describe"),
    Rule("/accounts/<account>/namespaces/<namespace>/users/<path:name>", methods=["DELETE"], endpoint="delete"),
], merge_slashes=False)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request would bury the test output
        pass


class FaithfulServer:
    def __init__(self, *, account_id: str = "111122223333", region: str = "eu-west-2", echo_secrets: bool = False,
                 throttle_first: int = 0, register_status: int = 201):
        self.account_id, self.region, self.echo_secrets = account_id, region, echo_secrets
        self.register_status = register_status
        self.throttle_left = throttle_first
        self.users: dict[tuple[str, str], dict] = {}
        self.requests = 0
        self.request_ids: list[str] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FaithfulServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- answers -------------------------------------------------------------------------

    def _answer(self, req: WsgiRequest, status: int, body: dict, error: str | None = None) -> WsgiResponse:
        rid = str(uuid.uuid4())
        self.request_ids.append(rid)
        body = dict(body, RequestId=rid)
        if self.echo_secrets:
            body["Echo"] = {k: v for k, v in req.headers.items()}
            body["CreatedTime"] = datetime.now(timezone.utc).isoformat()
        headers = {"x-amzn-RequestId": rid, "Content-Type": "application/json"}
        if error:
            headers["X-Amzn-ErrorType"] = f"{error}:http://internal.amazon.com/coral/com.amazonaws.quicksight/"
        return WsgiResponse(json.dumps(body), status=status, headers=headers)

    def _error(self, req, status: int, error: str, message: str, **extra) -> WsgiResponse:
        return self._answer(req, status, {"Message": message, **extra}, error)

    def _user(self, namespace: str, name: str, body: dict, identity: str) -> dict:
        return {"Arn": f"arn:aws:quicksight:{self.region}:{self.account_id}:user/{namespace}/{name}",
                "UserName": name, "Email": body["Email"], "Role": body.get("UserRole", body.get("Role")),
                "IdentityType": identity, "Active": False,
                "PrincipalId": f"federated/iam/AIDA{secrets.token_hex(8).upper()}"}

    def app(self, environ, start_response):
        req = WsgiRequest(environ)
        with self._lock:
            self.requests += 1
            response = self._dispatch(req)
        return response(environ, start_response)

    def _dispatch(self, req: WsgiRequest) -> WsgiResponse:
        if self.throttle_left > 0:
            self.throttle_left -= 1
            return self._error(req, 429, "ThrottlingException", "Rate exceeded")
        try:
            endpoint, args = _ROUTES.bind_to_environ(req.environ).match()
        except Exception:
            return WsgiResponse("<html>no such route</html>", status=404, content_type="text/html")
        if args["account"] != self.account_id:
            return self._error(req, 403, "AccessDeniedException", "not your account")
        if args["namespace"] != "default":
            return self._error(req, 404, "ResourceNotFoundException", f"Namespace {args['namespace']} not found",
                               ResourceType="NAMESPACE")
        if endpoint == "list":
            users = [u for (ns, _), u in sorted(self.users.items()) if ns == args["namespace"]]
            return self._answer(req, 200, {"UserList": users})
        body = {}
        if endpoint in ("register", "update"):
            try:
                body = json.loads(req.get_data())
            except ValueError:
                return self._error(req, 400, "InvalidParameterValueException", "body is not JSON")
            if not isinstance(body, dict):
                return self._error(req, 400, "InvalidParameterValueException", "body is not an object")
        return getattr(self, endpoint)(req, args, body)

    def register(self, req, args, body):
        identity = body.get("IdentityType")
        if not isinstance(body.get("Email"), str) or body.get("UserRole") not in ROLES or identity not in IDENTITIES:
            return self._error(req, 400, "InvalidParameterValueException", "Email, UserRole and IdentityType needed")
        name = body.get("UserName")
        if identity == "QUICKSIGHT" and not isinstance(name, str):
            return self._error(req, 400, "InvalidParameterValueException", "UserName needed")
        if identity != "QUICKSIGHT":
            name = body.get("IamArn", "").rsplit("/", 1)[-1]
        key = (args["namespace"], name)
        if key in self.users:
            return self._error(req, 409, "ResourceExistsException", f"User {name} exists", ResourceType="USER")
        self.users[key] = self._user(args["namespace"], name, body, identity)
        answer = {"User": self.users[key]}
        if identity == "QUICKSIGHT":
            answer["UserInvitationUrl"] = (f"https://{self.region}.quicksight.aws.amazon.com/sn/accept"
                                           f"?t={secrets.token_hex(8)}")
        return self._answer(req, self.register_status, answer)

    def update(self, req, args, body):
        if not isinstance(body.get("Email"), str) or body.get("Role") not in ROLES:
            return self._error(req, 400, "InvalidParameterValueException", "Email and Role needed")
        user = self.users.get((args["namespace"], args["name"]))
        if user is None:
            return self._error(req, 404, "ResourceNotFoundException", f"User {args['name']} not found",
                               ResourceType="USER")
        user.update(Email=body["Email"], Role=body["Role"])
        return self._answer(req, 200, {"User": user})

    def describe(self, req, args, body):
        user = self.users.get((args["namespace"], args["name"]))
        if user is None:
            return self._error(req, 404, "ResourceNotFoundException", "not found", ResourceType="USER")
        return self._answer(req, 200, {"User": user})

    def delete(self, req, args, body):
        if self.users.pop((args["namespace"], args["name"]), None) is None:
            return self._error(req, 404, "ResourceNotFoundException", "not found", ResourceType="USER")
        return self._answer(req, 200, {})

    def names(self) -> list[str]:
        with self._lock:
            return sorted(name for _, name in self.users)


# -- the server is what the other tests take it for ------------------------------------------

@pytest.fixture
def server():
    with FaithfulServer() as s:
        yield s


def _post(s, path, body, method="POST"):
    import requests
    return requests.request(method, s.url + path, data=json.dumps(body), timeout=5)


def test_register_answers_201_with_json_and_request_ids(server):
    r = _post(server, "/accounts/111122223333/namespaces/default/users",
              {"Email": "a@example.com", "UserRole": "READER", "IdentityType": "QUICKSIGHT", "UserName": "u1"})
    assert r.status_code == 201 and r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["RequestId"] == r.headers["x-amzn-RequestId"]
    assert body["User"]["Arn"] == "arn:aws:quicksight:eu-west-2:111122223333:user/default/u1"
    assert body["UserInvitationUrl"].startswith("https://")


def test_errors_are_typed_json(server):
    r = _post(server, "/accounts/111122223333/namespaces/default/users/nobody", {"Email": "x", "Role": "READER"}, "PUT")
    assert r.status_code == 404 and r.headers["X-Amzn-ErrorType"].startswith("ResourceNotFoundException:")
    assert r.json()["ResourceType"] == "USER"
    body = {"Email": "a@example.com", "UserRole": "READER", "IdentityType": "QUICKSIGHT", "UserName": "u1"}
    assert _post(server, "/accounts/111122223333/namespaces/default/users", body).status_code == 201
    assert _post(server, "/accounts/111122223333/namespaces/default/users", body).status_code == 409


def test_echo_secrets_copies_the_authorization_header():
    import requests
    with FaithfulServer(echo_secrets=True) as s:
        r = requests.get(s.url + "/accounts/111122223333/namespaces/default/users",
                         headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX"}, timeout=5)
        assert r.json()["Echo"]["Authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAX"
        assert "CreatedTime" in r.json()
