"""SigV4: our signer against botocore's, session tokens, refreshing credentials, the credential chain."""
import datetime as dt
import hashlib
import importlib
import types

import botocore.auth
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, RefreshableCredentials
from requests_aws4auth import AWS4Auth

from qsconform.conformance.wire import auth

# the package's __init__ hides its modules behind same-named classes
AWS4AUTH_MODULE = importlib.import_module("requests_aws4auth.aws4auth")
SIGNINGKEY_MODULE = importlib.import_module("requests_aws4auth.aws4signingkey")
FIXED = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.timezone.utc)
REGION = "eu-west-1"


class _FrozenDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED if tz is not None else FIXED.replace(tzinfo=None)

    @classmethod
    def utcnow(cls):
        return FIXED.replace(tzinfo=None)


@pytest.fixture
def frozen_clock(monkeypatch):
    """Both signers read the clock: requests-aws4auth through datetime.datetime.now(timezone.utc) in
    aws4auth (request date) and aws4signingkey (key date); botocore through botocore.auth.get_current_datetime."""
    monkeypatch.setattr(AWS4AUTH_MODULE, "datetime",
                        types.SimpleNamespace(datetime=_FrozenDatetime, timezone=dt.timezone, date=dt.date))
    monkeypatch.setattr(SIGNINGKEY_MODULE, "datetime", _FrozenDatetime)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: FIXED.replace(tzinfo=None))


def _ours(method, url, body, creds, auth_obj=None):
    prepared = requests.Request(method, url, data=body, headers={"Content-Type": "application/json"}).prepare()
    prepared.url = url  # as the transport does: the path exactly as built, not re-normalised by requests
    (auth_obj or auth.signer(creds, REGION))(prepared)
    return prepared


def _botocore(method, url, body, creds, content_sha256):
    request = AWSRequest(method=method, url=url, data=body,
                         headers={"Content-Type": "application/json", "X-Amz-Content-SHA256": content_sha256})
    botocore.auth.SigV4Auth(creds, "quicksight", REGION).add_auth(request)
    return request


ACCOUNT = "https://quicksight.eu-west-1.amazonaws.com/accounts/123456789012/namespaces/default"
CASES = [
    ("POST", f"{ACCOUNT}/users", b'{"UserName":"a b/\xc3\xa9","Email":"x@example.com"}'),
    ("PUT", f"{ACCOUNT}/users/a%20b%2F%C3%A9", b'{"Email":"x@example.com","Role":"READER"}'),
    ("PUT", f"{ACCOUNT}/users/a%2Fb", b"{}"),
    ("PUT", f"{ACCOUNT}/users/a%252Fb", b"{}"),
    ("PUT", f"{ACCOUNT}/users/..", b"{}"),
    ("PUT", f"{ACCOUNT}/users/.", b"{}"),
    ("PUT", f"{ACCOUNT}/users/~x%3F%23%25", b"{}"),
    ("GET", f"{ACCOUNT}/users/%C3%A9", b""),
    ("DELETE", f"{ACCOUNT}/users/qsc-1", b""),
    ("GET", f"{ACCOUNT}/users?next-token=a%2Fb%2B%3D%20c&max-results=5", b""),
    ("POST", "http://127.0.0.1:5123/accounts/123456789012/namespaces/default/users", b"\x00\xff not json"),
    ("PUT", "http://[::1]:8080/accounts/123456789012/namespaces/default/users/x", b"{}"),
    ("PUT", "https://example.com:443/base/accounts/1/namespaces/default/users/x", b"{}"),
]


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLE//token+with/slashes=="])
@pytest.mark.parametrize("method,url,body", CASES, ids=[f"{m} {u.split('/', 3)[-1]}" for m, u, _ in CASES])
def test_signature_equals_botocore(frozen_clock, method, url, body, token):
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    ours = _ours(method, url, body, creds)
    assert ours.headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()  # over the bytes sent
    theirs = _botocore(method, url, body, creds, ours.headers["x-amz-content-sha256"])
    assert ours.headers["X-Amz-Date"] == theirs.headers["X-Amz-Date"] == "20240229T235958Z"
    assert ours.headers["Authorization"] == theirs.headers["Authorization"]
    if token:
        assert ours.headers["X-Amz-Security-Token"] == theirs.headers["X-Amz-Security-Token"] == token
        assert "x-amz-security-token" in ours.headers["Authorization"].split("SignedHeaders=")[1]
    else:
        assert "X-Amz-Security-Token" not in ours.headers


def test_plain_aws4auth_agrees_on_our_paths_too(frozen_clock):
    # The subclass swaps in botocore's canonical URI; record that unadapted requests-aws4auth
    # agrees on the encoded paths we send (%2F, %20, %C3%A9), so the swap is a safeguard, not a fix.
    creds = Credentials("AKIDEXAMPLE", "secret-key-example")
    plain = AWS4Auth(refreshable_credentials=creds, region=REGION, service="quicksight")
    for method, url, body in CASES:
        assert _ours(method, url, body, creds, plain).headers["Authorization"] == \
            _ours(method, url, body, creds).headers["Authorization"]


def test_signature_changes_with_body_path_and_key(frozen_clock):
    creds = Credentials("AKIDEXAMPLE", "secret-key-example")
    base = _ours("PUT", f"{ACCOUNT}/users/a", b"{}", creds).headers["Authorization"]
    assert _ours("PUT", f"{ACCOUNT}/users/a", b"{ }", creds).headers["Authorization"] != base
    assert _ours("PUT", f"{ACCOUNT}/users/b", b"{}", creds).headers["Authorization"] != base
    assert _ours("PUT", f"{ACCOUNT}/users/a", b"{}", Credentials("AKIDEXAMPLE", "other")).headers["Authorization"] != base


def test_credential_scope_names_region_and_service(frozen_clock):
    prepared = _ours("PUT", f"{ACCOUNT}/users/a", b"{}", Credentials("AKIDEXAMPLE", "secret-key-example"))
    assert "Credential=AKIDEXAMPLE/20240229/eu-west-1/quicksight/aws4_request" in prepared.headers["Authorization"]


def test_refreshable_credentials_are_refreshed(frozen_clock):
    calls = []

    def refresh():
        calls.append(1)
        return {"access_key": f"ASIANEW{len(calls)}", "secret_key": "new-secret", "token": f"new-token-{len(calls)}",
                "expiry_time": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()}

    # Expires within botocore's advisory window: the first signature must refresh first.
    creds = RefreshableCredentials.create_from_metadata(
        {"access_key": "ASIAOLD", "secret_key": "old-secret", "token": "old-token",
         "expiry_time": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)).isoformat()},
        refresh_using=refresh, method="test")
    seen = []
    signer = auth.signer(creds, REGION, on_refresh=lambda *values: seen.append(values))
    first = _ours("PUT", f"{ACCOUNT}/users/a", b"{}", None, signer)
    assert "Credential=ASIANEW1/" in first.headers["Authorization"]
    assert first.headers["X-Amz-Security-Token"] == "new-token-1"
    second = _ours("PUT", f"{ACCOUNT}/users/a", b"{}", None, signer)
    assert "Credential=ASIANEW1/" in second.headers["Authorization"] and len(calls) == 1
    assert seen[0] == ("ASIANEW1", "new-secret", "new-token-1")
    # and the signature is botocore's for the refreshed values
    theirs = _botocore("PUT", f"{ACCOUNT}/users/a", b"{}", Credentials("ASIANEW1", "new-secret", "new-token-1"),
                       first.headers["x-amz-content-sha256"])
    assert first.headers["Authorization"] == theirs.headers["Authorization"]


# -- the credential chain -------------------------------------------------------------

@pytest.fixture
def aws_env(no_aws_credentials):
    return no_aws_credentials


def test_no_credentials(aws_env):
    assert auth.credentials(allow_dummy=False) is None
    dummy = auth.credentials(allow_dummy=True)
    assert (dummy.access_key, dummy.secret_key, dummy.token) == ("qsconform-dummy", "qsconform-dummy", None)
    assert auth.is_dummy(dummy)


def test_environment_credentials_with_session_token(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    creds = auth.credentials(allow_dummy=True)
    frozen = creds.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == ("ASIAENV", "env-secret", "env-token")
    assert not auth.is_dummy(creds)


def test_profiles_from_shared_files(aws_env, monkeypatch):
    (aws_env / "credentials").write_text("[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n"
                                         "[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = o\n")
    (aws_env / "config").write_text("[profile assumer]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
                                    "source_profile = other\n")
    assert auth.credentials(allow_dummy=False).access_key == "AKIADEFAULT"
    assert auth.credentials("other", allow_dummy=False).access_key == "AKIAOTHER"
    monkeypatch.setenv("AWS_PROFILE", "other")
    assert auth.credentials(allow_dummy=False).access_key == "AKIAOTHER"
    # assume-role profiles resolve lazily (STS is asked on first use, not here)
    assert auth.credentials("assumer", allow_dummy=False).method == "assume-role"


def test_unknown_profile_is_an_error_even_with_dummy(aws_env):
    with pytest.raises(auth.CredentialsError, match="'nope' not found"):
        auth.credentials("nope", allow_dummy=True)


def test_signer_needs_credentials():
    with pytest.raises(auth.CredentialsError):
        auth.signer(None, REGION)


def test_signer_repr_shows_no_credentials():
    signer = auth.signer(Credentials("AKIACANARY1234", "canary-secret-value"), REGION)
    assert "CANARY" not in repr(signer) and "canary" not in repr(signer)
