"""Targets: the live guard, moto started/reset/stopped, the reference hook, aws and URL targets, probing."""
import socket
import sys
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
import requests

from qsconform.conformance.wire import targets
from qsconform.conformance.wire.targets import LiveTargetRefused, TargetError, TargetUnreachable, is_loopback, open_target

CANARY_KEY = "AKIACANARYTARGET0001"
CANARY_SECRET = "canary/target+secret/value0123456789"
CANARY_TOKEN = "canaryTargetToken/+=="


@pytest.fixture
def aws_env(no_aws_credentials, monkeypatch):
    return monkeypatch


@pytest.fixture
def canary_env(aws_env):
    aws_env.setenv("AWS_ACCESS_KEY_ID", CANARY_KEY)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
    aws_env.setenv("AWS_SESSION_TOKEN", CANARY_TOKEN)
    return aws_env


@pytest.fixture
def no_discovery(monkeypatch):
    """Fail loudly if a test would ask STS over the network."""
    def refuse(*a, **k):
        raise AssertionError("discover_account_id must not be called here")
    monkeypatch.setattr(targets, "discover_account_id", refuse)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST.", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("0.0.0.0", False), ("::", False), ("example.com", False),
    ("localhost.example.com", False), ("127.0.0.1.nip.io", False), ("quicksight.us-east-1.amazonaws.com", False),
    ("", False), (None, False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("url", ["http://example.com", "https://quicksight.us-east-1.amazonaws.com",
                                 "http://10.1.2.3:4566", "http://[2001:db8::1]:80/"])
def test_live_url_refused_without_allow_live(aws_env, url):
    with pytest.raises(LiveTargetRefused, match="--live") as info:
        open_target(url)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, TargetError)  # the CLI's exit 2


def test_aws_refused_without_allow_live(canary_env, no_discovery):
    with pytest.raises(LiveTargetRefused, match="real AWS account.*--live"):
        open_target("aws", account_id="111122223333")


@pytest.mark.parametrize("url,endpoint", [
    ("http://127.0.0.1:1", "http://127.0.0.1:1"), ("http://127.5.6.7:80/", "http://127.5.6.7:80"),
    ("http://[::1]:8080", "http://[::1]:8080"), ("http://localhost:4566/base/", "http://localhost:4566/base"),
])
def test_loopback_url_allowed(aws_env, url, endpoint):
    with open_target(url) as t:
        assert (t.endpoint, t.live, t.name, t.account_id) == (endpoint, False, url, targets.DEFAULT_ACCOUNT_ID)
        assert t.region == "us-east-1"


def test_url_target_signs_with_found_or_dummy_credentials(aws_env):
    with open_target("http://127.0.0.1:1") as t:
        assert "qsconform-dummy" in t.redactor.secrets and not t.session_token
    aws_env.setenv("AWS_ACCESS_KEY_ID", CANARY_KEY)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
    with open_target("http://127.0.0.1:1", account_id="000000000000") as t:
        assert {CANARY_KEY, CANARY_SECRET} <= t.redactor.secrets and t.account_id == "000000000000"


@pytest.mark.parametrize("target,message", [
    ("ftp://127.0.0.1/", "unknown target"), ("mot", "unknown target"), ("", "unknown target"),
    ("http://127.0.0.1:99999", "invalid port"), ("http://127.0.0.1:1/?a=b", "base URL"),
    ("http://user:pw@127.0.0.1:1", "base URL"), ("http://127.0.0.1:1/é", "ASCII"), ("http://", "no host"),
])
def test_bad_targets(aws_env, target, message):
    with pytest.raises(TargetError, match=message):
        open_target(target)


@pytest.mark.parametrize("region", ["", "US-EAST-1", "us east 1", "us-east-1/x", "x"])
def test_bad_region(aws_env, region):
    with pytest.raises(TargetError, match="region"):
        open_target("http://127.0.0.1:1", region=region)


def test_aws_without_credentials(aws_env, no_discovery):
    with pytest.raises(TargetError, match="AWS_ACCESS_KEY_ID.*AWS_PROFILE.*--aws-profile") as info:
        open_target("aws", allow_live=True, account_id="111122223333")
    assert "\n" not in str(info.value)


def test_aws_unknown_profile(aws_env, no_discovery):
    with pytest.raises(TargetError, match="'missing' not found"):
        open_target("aws", allow_live=True, account_id="111122223333", profile="missing")


def test_aws_target(canary_env, no_discovery):
    t = open_target("aws", region="eu-west-1", account_id="111122223333", allow_live=True)
    assert (t.name, t.endpoint, t.live, t.account_id) == ("aws", "https://quicksight.eu-west-1.amazonaws.com", True,
                                                          "111122223333")
    assert t.session_token and {CANARY_KEY, CANARY_SECRET, CANARY_TOKEN} <= t.redactor.secrets
    for text in (repr(t), str(t)):
        assert not any(c in text for c in (CANARY_KEY, CANARY_SECRET, CANARY_TOKEN))
    t.reset()  # a no-op: nothing is sent
    t.close()


def test_aws_endpoint_follows_the_partition(aws_env):
    assert targets.resolve_aws_endpoint("cn-north-1").url == "https://quicksight.cn-north-1.amazonaws.com.cn"
    assert targets.resolve_aws_endpoint("us-gov-west-1").url == "https://quicksight.us-gov-west-1.amazonaws.com"
    assert targets.resolve_aws_endpoint("us-gov-west-1").source == "botocore's endpoint rules for us-gov-west-1"


@pytest.mark.parametrize("env,config,url,source", [
    ({"AWS_USE_FIPS_ENDPOINT": "true"}, "", "https://quicksight-fips.us-east-1.amazonaws.com",
     "botocore's endpoint rules for us-east-1 (FIPS)"),
    ({"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"}, "",
     "https://quicksight-fips.us-east-1.api.aws", "botocore's endpoint rules for us-east-1 (FIPS, dual-stack)"),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9/base/"}, "", "http://127.0.0.1:9/base",
     "environment variable AWS_ENDPOINT_URL"),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_QUICKSIGHT": "http://127.0.0.1:8"}, "",
     "http://127.0.0.1:8", "environment variable AWS_ENDPOINT_URL_QUICKSIGHT"),
    ({}, "[default]\nendpoint_url = https://vpce.example.com\n", "https://vpce.example.com",
     "profile default: endpoint_url"),
    ({}, "[default]\nendpoint_url = https://all.example.com\nservices = mine\n"
         "[services mine]\nquicksight =\n  endpoint_url = https://qs.example.com\n",
     "https://qs.example.com", "profile default: services section, quicksight endpoint_url"),
    ({"AWS_ENDPOINT_URL_QUICKSIGHT": "http://127.0.0.1:8", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "",
     "https://quicksight.us-east-1.amazonaws.com", "botocore's endpoint rules for us-east-1"),
])
def test_aws_endpoint_is_resolved_as_botocore_does(aws_env, no_aws_credentials, env, config, url, source):
    for name, value in env.items():
        aws_env.setenv(name, value)
    (no_aws_credentials / "config").write_text(config)
    assert targets.resolve_aws_endpoint("us-east-1") == targets.ResolvedEndpoint(url, source)


def test_aws_target_uses_the_configured_endpoint_and_stays_live(canary_env, no_discovery):
    canary_env.setenv("AWS_ENDPOINT_URL_QUICKSIGHT", "http://127.0.0.1:8")
    with pytest.raises(LiveTargetRefused, match="real AWS account.*AWS_ENDPOINT_URL_QUICKSIGHT.*--live"):
        open_target("aws", account_id="111122223333")
    with open_target("aws", account_id="111122223333", allow_live=True) as t:
        # A loopback endpoint may be a tunnel or proxy to an account: the live rules still apply.
        assert (t.endpoint, t.live, t.endpoint_source) == (
            "http://127.0.0.1:8", True, "environment variable AWS_ENDPOINT_URL_QUICKSIGHT")


def test_aws_discovers_the_account_only_when_not_given(canary_env, monkeypatch):
    asked = []
    monkeypatch.setattr(targets, "discover_account_id", lambda creds, region, profile=None: asked.append(region) or "444455556666")
    assert open_target("aws", allow_live=True, region="us-west-2").account_id == "444455556666"
    assert asked == ["us-west-2"]
    open_target("aws", allow_live=True, account_id="111122223333")
    assert asked == ["us-west-2"]


# -- the reference server hook ---------------------------------------------------------

class _Quiet(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class _FakeReference:
    """Stands in for qsconform.conformance.reference's server: a real HTTP server on loopback."""

    def __init__(self, host, port, **options):
        self.options = options
        self.httpd = ThreadingHTTPServer((host, port), _Quiet)
        self.url = f"http://{host}:{self.httpd.server_address[1]}/"
        self.stopped = False
        Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.stopped = True


def test_reference_not_installed(aws_env, monkeypatch):
    monkeypatch.setitem(sys.modules, "qsconform.conformance.reference", types.ModuleType("qsconform.conformance.reference"))
    with pytest.raises(TargetError, match="reference server is not available"):
        open_target("reference")


def test_reference_started_and_stopped(aws_env, monkeypatch):
    started = []
    module = types.ModuleType("qsconform.conformance.reference")

    def start_reference(host, port, **options):
        started.append(_FakeReference(host, port, **options))
        return started[-1]

    module.start_reference = start_reference
    monkeypatch.setitem(sys.modules, "qsconform.conformance.reference", module)
    with open_target("reference", reference_options={"faults": ("x",)}) as t:
        server = started[0]
        assert server.options == {"faults": ("x",)}
        assert t.endpoint == server.url.rstrip("/") and not t.live
        assert t.account_id == targets.DEFAULT_ACCOUNT_ID
        targets.ensure_reachable(t)
    assert server.stopped


def test_reference_bad_options(aws_env, monkeypatch):
    module = types.ModuleType("qsconform.conformance.reference")

    def start_reference(host, port, *, faults=()):
        raise ValueError(f"unknown fault {faults[0]!r}")

    module.start_reference = start_reference
    monkeypatch.setitem(sys.modules, "qsconform.conformance.reference", module)
    with pytest.raises(TargetError, match="unknown fault 'nope'"):
        open_target("reference", reference_options={"faults": ("nope",)})


# -- moto ------------------------------------------------------------------------------

def _signed(t, method, path, body=None):
    prepared = requests.Request(method, t.endpoint + path, data=body,
                                headers={"Content-Type": "application/json"} if body else {}).prepare()
    t.auth(prepared)
    with requests.Session() as s:
        s.trust_env = False
        return s.send(prepared, timeout=10)


def test_moto_started_reset_and_stopped(aws_env):
    with open_target("moto") as t:
        assert t.name == "moto" and t.endpoint.startswith("http://127.0.0.1:") and not t.live
        assert t.account_id == "123456789012"
        t.reset()  # moto's state is process-wide: other tests' moto servers may have left users
        users = f"/accounts/{t.account_id}/namespaces/default/users"
        body = b'{"IdentityType":"QUICKSIGHT","Email":"a@example.com","UserRole":"READER","UserName":"qsc-t-1"}'
        assert 200 <= _signed(t, "POST", users, body).status_code < 300
        assert [u["UserName"] for u in _signed(t, "GET", users).json()["UserList"]] == ["qsc-t-1"]
        t.reset()
        assert _signed(t, "GET", users).json()["UserList"] == []
    with pytest.raises(TargetUnreachable, match="connection refused"):
        targets.ensure_reachable(t)
    t.close()  # twice is fine


def test_probe_unreachable_fails_fast():
    t = targets.Target("x", f"http://127.0.0.1:{_closed_port()}", "us-east-1", "123456789012", False, None)
    started = time.monotonic()
    with pytest.raises(TargetUnreachable) as info:
        targets.ensure_reachable(t)
    assert time.monotonic() - started < 3.5
    assert "connection refused" in str(info.value) and "\n" not in str(info.value)


def test_probe_any_http_answer_is_reachable():
    server = _FakeReference("127.0.0.1", 0)
    try:
        targets.ensure_reachable(targets.Target("x", server.url.rstrip("/"), "us-east-1", "1", False, None))
    finally:
        server.stop()


def test_region_none_is_the_configured_region(aws_env, tmp_path):
    with open_target("http://127.0.0.1:1", region=None) as t:
        assert t.region == "us-east-1"
    (tmp_path / "config").write_text("[profile eu]\nregion = eu-central-1\n")
    with open_target("http://127.0.0.1:1", region=None, profile="eu") as t:
        assert t.region == "eu-central-1"
    aws_env.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    with open_target("http://127.0.0.1:1", region=None) as t:
        assert t.region == "ap-south-1"
    with open_target("http://127.0.0.1:1", region="sa-east-1") as t:
        assert t.region == "sa-east-1"
    with pytest.raises(TargetError, match="'nope' not found"):
        open_target("http://127.0.0.1:1", region=None, profile="nope")
