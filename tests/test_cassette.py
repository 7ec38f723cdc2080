"""Cassettes: the transport tells observers each final answer; a recording is normalised and keeps no secret."""
import json

import pytest
from requests.structures import CaseInsensitiveDict

from qsconform.conformance.cassette import (Cassette, CassetteError, Denormaliser, Normaliser, UserNames, load_cassette)
from qsconform.conformance.wire.protocol import Answer
from qsconform.conformance.wire.targets import open_target
from qsconform.conformance.wire.transport import Sent, Throttled, Transport
from qsconform.spec.loader import default_spec
from qsconform.spec.request import Expected, Request
from test_cassette_server import FaithfulServer

ACCOUNT, REGION, PREFIX = "111122223333", "eu-west-2", "qsc-0badcafe-"
CANARY_KEY, CANARY_SECRET, CANARY_TOKEN = "AKIACANARY0000000001", "canary/Secret+Value0123456789", "canary-token-4567"
SPEC = default_spec()
PROTOCOL = SPEC.protocol


def labels(**extra):
    return {"AwsAccountId": ACCOUNT, "Namespace": "default", **extra}


def register(name, **body):
    return Request("RegisterUser", labels(), {"IdentityType": "QUICKSIGHT", "Email": "qsc@example.com",
                                              "UserRole": "READER", "UserName": name, **body}, Expected("success"))


def update(name, email="new@example.com"):
    return Request("UpdateUser", labels(UserName=name), {"Email": email, "Role": "AUTHOR"}, Expected("success"))


@pytest.fixture
def canary_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CANARY_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", CANARY_TOKEN)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def open_server_target(server, **kw):
    return open_target(server.url, region=server.region, account_id=server.account_id, **kw)


# -- the observer hook ------------------------------------------------------------------------

def test_observers_hear_each_final_answer_once_after_retries():
    with FaithfulServer(throttle_first=2) as server, open_server_target(server) as target, \
            Transport(target, SPEC, sleep=lambda s: None) as transport:
        heard = []
        transport.observers.append(heard.append)
        response = transport.send(register(PREFIX + "a"))
        assert server.requests == 3 and response.status == 201
        assert len(heard) == 1 and isinstance(heard[0], Sent)
        sent = heard[0]
        assert sent.operation == "RegisterUser" and sent.response is response
        assert sent.path_params == labels() and sent.query is None
        assert json.loads(sent.body)["UserName"] == PREFIX + "a"

        transport.call("ListUsers", labels(), query={"MaxResults": 5})
        assert heard[1].operation == "ListUsers" and heard[1].query == {"MaxResults": 5} and heard[1].body is None


def test_observers_hear_nothing_when_the_target_still_throttles():
    with FaithfulServer(throttle_first=10) as server, open_server_target(server) as target, \
            Transport(target, SPEC, sleep=lambda s: None, max_retries=1) as transport:
        heard = []
        transport.observers.append(heard.append)
        with pytest.raises(Throttled):
            transport.send(register(PREFIX + "a"))
        assert heard == [] and server.requests == 2


# -- recording --------------------------------------------------------------------------------

def record_session(tmp_path, server, rule_ids=True):
    path = tmp_path / "run.cassette.json"
    with open_server_target(server) as target, Transport(target, SPEC) as transport:
        cassette = Cassette.recording(path, target=target, prefix=PREFIX)
        seen = []
        transport.observers += [cassette.observe, seen.append]
        with cassette.judging("RegisterUser.success" if rule_ids else None):
            transport.send(register(PREFIX + "alice"))
            transport.send(register(PREFIX + "bob", Email=f"bob-{ACCOUNT}@example.com"))
        transport.send(update(PREFIX + "alice"))
        transport.send(update(PREFIX + "nobody"))
        transport.call("DeleteUser", labels(UserName=PREFIX + "bob"))
        cassette.save()
    return path, seen


def test_a_recording_is_normalised(tmp_path):
    with FaithfulServer(echo_secrets=True) as server:
        path, seen = record_session(tmp_path, server)
    cassette = load_cassette(path)
    ops = [(i["operation"], i["response"]["status"]) for i in cassette.interactions]
    assert ops == [("RegisterUser", 201), ("RegisterUser", 201), ("UpdateUser", 200), ("UpdateUser", 404),
                   ("DeleteUser", 200)]
    first, second, updated, missing, deleted = cassette.interactions
    assert first["rule_id"] == "RegisterUser.success" and updated["rule_id"] is None
    assert first["path_params"] == {"AwsAccountId": "{account}", "Namespace": "default"}
    assert first["body"]["UserName"] == "{user-1}" and second["body"]["UserName"] == "{user-2}"
    assert second["body"]["Email"] == "bob-{account}@example.com"
    assert updated["path_params"]["UserName"] == "{user-1}" and missing["path_params"]["UserName"] == "{user-3}"
    assert deleted["path_params"]["UserName"] == "{user-2}" and deleted["raw_body"] == ""
    assert cassette.users == {"{user-1}": "alice", "{user-2}": "bob", "{user-3}": "nobody"}
    assert cassette.prefix_length == len(PREFIX)

    answer = first["response"]
    assert answer["content_type"] == "application/json" and answer["request_id_header"] is True
    user = answer["body"]["User"]
    assert user["Arn"] == "arn:aws:quicksight:{region}:{account}:user/default/{user-1}"
    assert user["UserName"] == "{user-1}" and user["PrincipalId"] == "{principal-id}"
    assert answer["body"]["RequestId"] == "{request-id}"
    assert answer["body"]["UserInvitationUrl"] == "{invitation-url}"
    assert answer["body"]["CreatedTime"] == "{timestamp}"
    assert updated["response"]["body"]["User"]["Email"] == "new@example.com"
    assert missing["response"]["error_type"] == "ResourceNotFoundException"
    assert missing["response"]["body"]["Message"] == "User {user-3} not found"

    document = json.loads(path.read_text())
    assert document.pop("region") == REGION  # where it was recorded (observations cite it); no exchange holds it
    assert document.pop("recorded_at").endswith("Z")
    text = json.dumps(document)
    volatile = [ACCOUNT, REGION, PREFIX, *server.request_ids]
    volatile += [s.response.json_body["User"]["PrincipalId"] for s in seen[:2]]
    volatile += [s.response.json_body["UserInvitationUrl"] for s in seen[:2]]
    for value in volatile:
        assert value not in text


def test_a_recording_keeps_no_credential(tmp_path, canary_env):
    # the server echoes the signed request's headers into every answer
    with FaithfulServer(echo_secrets=True) as server:
        path, seen = record_session(tmp_path, server)
    assert "Authorization" in seen[0].response.json_body["Echo"]  # the hostile server did echo it
    text = path.read_text()
    for secret in (CANARY_KEY, CANARY_SECRET, CANARY_TOKEN, "Signature=", "AWS4-HMAC-SHA256 Credential=AKIA"):
        assert secret not in text
    echo = load_cassette(path).interactions[0]["response"]["body"]["Echo"]
    assert echo["Authorization"] == echo["X-Amz-Security-Token"] == echo["X-Amz-Date"] == "[REDACTED]"


def test_saving_twice_rewrites_the_whole_file(tmp_path):
    with FaithfulServer() as server, open_server_target(server) as target, Transport(target, SPEC) as transport:
        cassette = Cassette.recording(tmp_path / "c.json", target=target, prefix=PREFIX)
        transport.observers.append(cassette.observe)
        transport.send(register(PREFIX + "a"))
        cassette.save()
        transport.send(update(PREFIX + "a"))
        cassette.save()
    assert [i["operation"] for i in load_cassette(tmp_path / "c.json").interactions] == ["RegisterUser", "UpdateUser"]
    assert not (tmp_path / "c.json.tmp").exists()


# -- names and bodies ---------------------------------------------------------------------------

def normaliser(prefix=PREFIX, account=ACCOUNT, region=REGION, suffixes=None):
    return Normaliser(account, region, UserNames(prefix, suffixes if suffixes is not None else {}))


def test_names_are_numbered_consistently_longest_first():
    n = normaliser()
    assert n.request_value([PREFIX + "u1", PREFIX + "u10", PREFIX + "u1"]) == ["{user-1}", "{user-2}", "{user-1}"]
    text = n.answer_text(f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/{PREFIX}u10 and {PREFIX}u1.")
    assert text == "arn:aws:quicksight:{region}:{account}:user/default/{user-2} and {user-1}."
    # a name the server made up is a user too, under its own number
    assert n.answer_text(f"Role/{PREFIX}session") == "Role/{user-3}"


def test_the_prefix_inside_a_name_moves_with_it():
    n = normaliser()
    assert n.request_value(f"{PREFIX}role/{PREFIX}session") == "{user-1}"
    assert n.users.suffixes == {"{user-1}": "role/{prefix}session"}
    d = Denormaliser(ACCOUNT, REGION, UserNames("qsc-12345678-", n.users.suffixes))
    assert d.text("{user-1}") == "qsc-12345678-role/qsc-12345678-session"


def test_a_name_made_to_break_a_rule_keeps_its_characters():
    n = normaliser()
    broken = PREFIX + "a b\x00é"
    assert n.request_value(broken) == "{user-1}"
    fresh = "qsc-12345678-"
    d = Denormaliser("999988887777", "us-west-2", UserNames(fresh, n.users.suffixes))
    assert d.text("{user-1}") == fresh + "a b\x00é" and len(d.text("{user-1}")) == len(broken)


@pytest.mark.parametrize("body", [
    b'{"Email":"a@example.com","UserName":"qsc-0badcafe-x"}',
    '{"Email":"é@example.com"}'.encode(),  # raw UTF-8, not \\u escapes
    b'{"Email":"a","Email":"b"}',  # duplicate keys: kept as bytes
    b'{ "Email" : 1 }',  # spaces: kept as bytes
    b"not json \xff\xfe",  # not UTF-8
    b"",
])
def test_request_bodies_replay_byte_for_byte(body):
    n = normaliser()
    recorded = n.body(body)
    assert ("body" in recorded) != ("raw_body" in recorded)
    again = json.loads(json.dumps(recorded))  # through the file
    d = Denormaliser(ACCOUNT, REGION, UserNames(PREFIX, n.users.suffixes))
    assert d.body_bytes(again) == body


def test_account_region_and_names_move_to_the_new_target():
    n = normaliser()
    recorded = n.request("UpdateUser", labels(UserName=PREFIX + "z"),
                         json.dumps({"IamArn": f"arn:aws:iam::{ACCOUNT}:user/x", "Email": f"{REGION}@e.com"}).encode(),
                         None)
    d = Denormaliser("999988887777", "us-west-2", UserNames("qsc-feedf00d-", n.users.suffixes))
    assert d.value(recorded["path_params"]) == {"AwsAccountId": "999988887777", "Namespace": "default",
                                                "UserName": "qsc-feedf00d-z"}
    assert json.loads(d.body_bytes(recorded)) == {"IamArn": "arn:aws:iam::999988887777:user/x",
                                                  "Email": "us-west-2@e.com"}


def test_answers_lose_what_differs_between_servers():
    n = normaliser()
    body = {"RequestId": "rid-12345678", "Status": 201, "Message": "request rid-12345678 at 2024-05-01T10:00:00Z",
            "User": {"PrincipalId": "federated/iam/AIDA1", "Active": False},
            "UserInvitationUrl": "https://x", "LastModifiedTime": 1714557600, "Set-Cookie": "session=1"}
    response = Answer(200, CaseInsensitiveDict({"x-amzn-RequestId": "rid-12345678",
                                                  "Content-Type": "application/json; charset=utf-8"}),
                        json.dumps(body).encode(), 0.0, protocol=PROTOCOL)
    answer = n.response(response)
    assert answer["body"] == {"RequestId": "{request-id}", "Status": 201,
                              "Message": "request {request-id} at {timestamp}",
                              "User": {"PrincipalId": "{principal-id}", "Active": False},
                              "UserInvitationUrl": "{invitation-url}", "LastModifiedTime": 0,
                              "Set-Cookie": "[REDACTED]"}
    assert answer["content_type"] == "application/json" and answer["body_kind"] == "json"
    html = n.response(Answer(404, CaseInsensitiveDict({"Content-Type": "text/html"}), b"<p>no</p>", 0.0,
                                       protocol=PROTOCOL))
    assert html["body_kind"] == "text" and html["body"] == "<p>no</p>" and html["request_id_header"] is False


# -- loading ---------------------------------------------------------------------------------

def cassette_text(interaction=None, drop=(), **top):
    """A cassette file of one interaction (a valid one, changed by `interaction`, without the members in `drop`)
    and the top-level members `top`."""
    valid = {"operation": "RegisterUser", "path_params": {}, "body": {},
             "response": {"status": 201, "body_kind": "json", "request_id_header": True, "body": {}}}
    changed = {k: v for k, v in {**valid, **(interaction or {})}.items() if k not in drop}
    return json.dumps({"schema_version": 1, "interactions": [changed], **top})


def answer(**changes):
    return {"response": {"status": 201, "body_kind": "json", "request_id_header": True, "body": {}, **changes}}


@pytest.mark.parametrize("content, words", [
    (None, "not found"),
    ("{not json", "is not JSON: line 1"),
    ("[]", "not a JSON object"),
    ('{"schema_version": 2, "interactions": []}', "schema_version is 2, expected 1"),
    ('{"interactions": []}', "missing 'schema_version'"),
    ('{"schema_version": 1}', "missing 'interactions'"),
    ('{"schema_version": 1, "interactions": {}}', "interactions: must be array, not object"),
    ('{"schema_version": 1, "interactions": [1]}', "interactions[0]: must be object, not integer"),
    ('{"schema_version": 1, "interactions": [{"operation": "RegisterUser", "path_params": {}, "body": {}}]}',
     "interactions[0]: missing 'response'"),
    ('{"schema_version": 1, "interactions": [], "users": {"alice": "x"}}', "users: key 'alice' does not match"),
    (cassette_text(users={"{user-1}": 3}), "users.{user-1}: must be string, not integer"),
    (cassette_text(user_prefix_length=0), "user_prefix_length: 0 is less than the minimum of 1"),
    (cassette_text(user_prefix_length="13"), "user_prefix_length: must be integer or null, not string"),
    ('{"schema_version": 1, "interactions": [{"operation": "X", "path_params": {}, "body": {}, "raw_body": "",'
     ' "response": {}}]}', "interactions[0]: needs exactly one of body and raw_body"),
    (cassette_text(drop=["body"]), "interactions[0]: needs exactly one of body and raw_body"),
    (cassette_text({"operation": ""}), "interactions[0].operation: '' should be non-empty"),
    (cassette_text({"path_params": []}), "interactions[0].path_params: must be object, not array"),
    (cassette_text({"query": "MaxResults=5"}), "interactions[0].query: must be object or null, not string"),
    (cassette_text({"body": None, "raw_body": 5}), "needs exactly one of body and raw_body"),
    (cassette_text({"raw_body": 5}, drop=["body"]), "interactions[0].raw_body: must be string, not integer"),
    (cassette_text({"rule_id": 7}), "interactions[0].rule_id: must be string or null, not integer"),
    (cassette_text(answer(status=600)), "interactions[0].response.status: 600 is greater than the maximum of 599"),
    (cassette_text(answer(status=True)), "interactions[0].response.status: must be integer, not boolean"),
    (cassette_text(answer(body_kind="xml")), 'interactions[0].response.body_kind: must be one of "json", "text"'),
    (cassette_text(answer(error_type=4)), "interactions[0].response.error_type: must be string or null"),
    (cassette_text(answer(request_id_header="yes")),
     "interactions[0].response.request_id_header: must be boolean, not string"),
    (cassette_text({"response": {"status": 201, "body_kind": "json", "request_id_header": True}}),
     "interactions[0].response: missing 'body'"),
    (cassette_text(answer(body_kind="text", body={"not": "text"})),
     "interactions[0].response.body: must be string, not object"),
    (cassette_text(answer(body_kind="empty", body="")), "interactions[0].response.body: must be null, not string"),
    (cassette_text({"path_params": {"UserName": "{user-2}"}}, users={"{user-1}": "a"}),
     "interactions[0]: {user-2} is not in the users table"),
    (cassette_text({"body": {"Tags": ["{user-1}"]}}), "interactions[0]: {user-1} is not in the users table"),
])
def test_a_bad_cassette_is_one_line(tmp_path, content, words):
    path = tmp_path / "c.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CassetteError) as info:
        load_cassette(path)
    assert words in str(info.value) and "\n" not in str(info.value) and str(path) in str(info.value)


def test_the_schema_is_draft_2020_12_and_a_recording_meets_it(tmp_path):
    import jsonschema
    from qsconform.conformance.cassette.load import SCHEMA_FILE

    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    with FaithfulServer(echo_secrets=True) as server:
        path, _ = record_session(tmp_path, server)
    jsonschema.validate(json.loads(path.read_text()), schema, cls=jsonschema.Draft202012Validator)


def test_a_cassette_may_omit_what_a_replay_can_do_without(tmp_path):
    """No users table, query, rule id or ascii_json, an empty answer without a body, a prefix length written
    13.0: a replay needs none of them (and a prefix is a whole number of characters)."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"schema_version": 1, "user_prefix_length": 13.0, "interactions": [
        {"operation": "DeleteUser", "path_params": {"UserName": "someone"}, "raw_body": "",
         "response": {"status": 200, "body_kind": "empty", "request_id_header": False}}]}))
    cassette = load_cassette(path)
    assert cassette.users == {} and cassette.prefix_length == 13 and isinstance(cassette.prefix_length, int)
    assert cassette.interactions[0]["raw_body"] == ""
