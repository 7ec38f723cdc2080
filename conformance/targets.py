"""Where requests go: moto's real server, our reference server, real AWS, or any base URL.

`open_target` starts what needs starting and refuses a live (non-loopback)
target unless asked with allow_live: a conformance run creates users.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
import botocore.session
import requests
from requests.auth import AuthBase

from conformance import auth
from conformance.redact import Redactor

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account, also the reference server's
SERVICE = auth.SERVICE
KEYWORDS = ("moto", "reference", "aws")


class TargetError(Exception):
    """Bad usage or configuration (the CLI exits 2)."""


class LiveTargetRefused(TargetError):
    """A non-loopback target without allow_live (the CLI exits 2)."""


class TargetUnreachable(Exception):
    """Nothing answers at the target (the CLI exits 3)."""


@dataclass(eq=False)
class Target:
    """An opened target. Close it (or use it as a context manager) to stop what was started."""

    name: str  # "moto" | "reference" | "aws" | the URL given
    endpoint: str  # base URL, no trailing slash
    region: str
    account_id: str
    live: bool  # the endpoint is not on a loopback address
    auth: AuthBase = field(repr=False)
    supports_helpers: bool = True  # DescribeUser and DeleteUser exist there
    redactor: Redactor = field(default_factory=Redactor, repr=False)
    session_token: bool = False  # signatures carry X-Amz-Security-Token (the value stays in auth)
    service: str = SERVICE
    on_reset: Callable[[], None] | None = field(default=None, repr=False)
    on_close: Callable[[], None] | None = field(default=None, repr=False)
    closed: bool = False

    def reset(self) -> None:
        """Forget every user (moto, the reference server); a no-op where that is not possible."""
        if self.on_reset is not None:
            self.on_reset()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.on_close is not None:
            self.on_close()

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- the live guard ------------------------------------------------------------------

def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped) and the name localhost; no DNS lookup."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def describe(name: str, endpoint: str) -> str:
    """How messages name a target: "target moto (http://127.0.0.1:5000)", "target http://host:4566"."""
    return f"target {name}" if name.rstrip("/") == endpoint else f"target {name} ({endpoint})"


def _guard_live(name: str, endpoint: str, allow_live: bool) -> bool:
    host = urlsplit(endpoint).hostname
    live = not is_loopback(host)
    if live and not allow_live:
        raise LiveTargetRefused(
            f"refusing {describe(name, endpoint)}: {host} is not a loopback address, so it is a live target where "
            f"qsconform would create and delete real users; pass --live to allow it")
    return live


# -- opening -------------------------------------------------------------------------

def open_target(target: str = "moto", *, region: str | None = "us-east-1", account_id: str | None = None,
                profile: str | None = None, allow_live: bool = False,
                reference_options: dict | None = None) -> Target:
    """Open a target by keyword (moto, reference, aws) or base URL (http:// or https://).

    `region` None means the AWS CLI's region (AWS_REGION, AWS_DEFAULT_REGION, the profile's region), else us-east-1.
    """
    spec = (target or "").strip()
    region = _check_region(region if region is not None else configured_region(profile))
    if spec.lower() == "moto":
        return _open_moto(region, account_id)
    if spec.lower() == "reference":
        return _open_reference(region, account_id, reference_options)
    if spec.lower() == "aws":
        return _open_aws(region, account_id, profile, allow_live)
    if spec.lower().startswith(("http://", "https://")):
        return _open_url(spec, region, account_id, profile, allow_live)
    raise TargetError(f"unknown target {target!r}: use moto, reference, aws or a base URL such as http://127.0.0.1:4566")


def configured_region(profile: str | None = None) -> str:
    """The region the AWS CLI would use, or us-east-1."""
    try:
        return botocore.session.Session(profile=profile).get_config_variable("region") or "us-east-1"
    except botocore.exceptions.ProfileNotFound:
        raise TargetError(f"AWS profile {profile!r} not found in the AWS config or credentials file") from None


def _check_region(region: str) -> str:
    if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2,}(-[a-z0-9]+)+", region or ""):
        raise TargetError(f"region {region!r} is not a region name such as us-east-1")
    return region


def _signing(creds, region: str) -> tuple[AuthBase, Redactor, bool]:
    """The signer, a Redactor that learns every credential value it signs with, and whether a token is sent."""
    redactor = Redactor()
    try:
        redactor.add_credentials(creds)  # freezes once: expired SSO sessions fail here, with a clear message
        token = creds.get_frozen_credentials().token is not None
    except botocore.exceptions.BotoCoreError as exc:
        raise TargetError(f"the AWS credentials cannot be used: {exc}") from None
    return auth.signer(creds, region, on_refresh=redactor.add), redactor, token


def _credentials(profile: str | None, *, allow_dummy: bool):
    try:
        return auth.credentials(profile, allow_dummy=allow_dummy)
    except auth.CredentialsError as exc:
        raise TargetError(str(exc)) from None


def _open_moto(region: str, account_id: str | None) -> Target:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise TargetError(f"moto's server is not installed ({exc}); install moto[server]") from None
    _quiet_werkzeug()
    # Port 0: the kernel picks a free port when the server binds, so no other process can take it in between.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    signing, redactor, token = _signing(auth.dummy_credentials(), region)
    target = Target(name="moto", endpoint=endpoint, region=region, account_id=account_id or DEFAULT_ACCOUNT_ID,
                    live=False, auth=signing, redactor=redactor, session_token=token,
                    on_reset=lambda: _moto_reset(endpoint), on_close=server.stop)
    try:
        _wait_until_answering(target, within=10.0)
    except TargetUnreachable:
        target.close()
        raise
    return target


def _moto_reset(endpoint: str) -> None:
    with _session(live=False) as s:
        r = s.post(f"{endpoint}/moto-api/reset", timeout=10)
    if not 200 <= r.status_code < 300:
        raise TargetError(f"moto did not reset: {endpoint}/moto-api/reset answered {r.status_code}")


def _quiet_werkzeug() -> None:
    # moto's server logs every request through werkzeug at INFO; keep the run's output to verdicts.
    logger = logging.getLogger("werkzeug")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def _open_reference(region: str, account_id: str | None, options: dict | None) -> Target:
    try:
        from conformance.reference import start_reference
    except ImportError as exc:
        raise TargetError(f"the reference server is not available in this installation ({exc})") from None
    try:
        server = start_reference(host="127.0.0.1", port=0, **(options or {}))
    except (TypeError, ValueError) as exc:
        raise TargetError(f"cannot start the reference server: {exc}") from None
    endpoint = str(server.url).rstrip("/")
    try:
        live = _guard_live("reference", endpoint, allow_live=False)
    except LiveTargetRefused:
        server.stop()
        raise
    signing, redactor, token = _signing(auth.dummy_credentials(), region)
    return Target(name="reference", endpoint=endpoint, region=region, account_id=account_id or DEFAULT_ACCOUNT_ID,
                  live=live, auth=signing, redactor=redactor, session_token=token,
                  supports_helpers=bool(getattr(server, "supports_helpers", True)),
                  on_reset=getattr(server, "reset", None), on_close=server.stop)


def aws_endpoint(region: str) -> str:
    """https://quicksight.<region>.<the partition's DNS suffix> (amazonaws.com, amazonaws.com.cn, ...)."""
    return f"https://quicksight.{region}.{_dns_suffix(region)}"


@lru_cache(maxsize=None)
def _dns_suffix(region: str) -> str:
    partitions = botocore.session.get_session().get_component("data_loader").load_data("partitions")["partitions"]
    for p in partitions:
        if region in p.get("regions", {}):
            return p["outputs"]["dnsSuffix"]
    for p in partitions:
        if re.match(p["regionRegex"], region):
            return p["outputs"]["dnsSuffix"]
    return "amazonaws.com"


def _open_aws(region: str, account_id: str | None, profile: str | None, allow_live: bool) -> Target:
    endpoint = aws_endpoint(region)
    live = _guard_live("aws", endpoint, allow_live)
    creds = _credentials(profile, allow_dummy=False)
    if creds is None:
        raise TargetError(
            "no AWS credentials found for --target aws: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(and AWS_SESSION_TOKEN for temporary credentials), or name a profile with AWS_PROFILE or "
            "--aws-profile (for SSO profiles run `aws sso login --profile NAME` first)")
    signing, redactor, token = _signing(creds, region)
    if account_id is None:
        account_id = discover_account_id(creds, region)
    return Target(name="aws", endpoint=endpoint, region=region, account_id=account_id, live=live, auth=signing,
                  redactor=redactor, session_token=token)


def _open_url(url: str, region: str, account_id: str | None, profile: str | None, allow_live: bool) -> Target:
    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        raise TargetError(f"target URL {url!r} has an invalid port") from None
    if not parts.hostname:
        raise TargetError(f"target URL {url!r} has no host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise TargetError(f"target URL {url!r} must be a base URL: no query, fragment or user:password@")
    endpoint = f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}"
    if not endpoint.isascii() or re.search(r"\s", endpoint):
        raise TargetError(f"target URL {url!r} must be ASCII without spaces (use the punycode host, encode the path)")
    live = _guard_live(url, endpoint, allow_live)
    creds = _credentials(profile, allow_dummy=True)
    signing, redactor, token = _signing(creds, region)
    if account_id is None:
        account_id = discover_account_id(creds, region) if live and not auth.is_dummy(creds) else DEFAULT_ACCOUNT_ID
    return Target(name=url, endpoint=endpoint, region=region, account_id=account_id, live=live, auth=signing,
                  redactor=redactor, session_token=token)


def discover_account_id(creds, region: str) -> str:
    """The account of `creds`, from STS GetCallerIdentity (one call over the network)."""
    from botocore.config import Config

    frozen = creds.get_frozen_credentials()
    client = botocore.session.Session().create_client(
        "sts", region_name=region, aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}))
    try:
        return client.get_caller_identity()["Account"]
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "an error")
        raise TargetError(f"could not find the account id: STS GetCallerIdentity answered {code}; "
                          f"pass --account-id") from None
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError) as exc:
        raise TargetUnreachable(f"STS is unreachable to find the account id ({exc}); pass --account-id") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise TargetError(f"could not find the account id ({exc}); pass --account-id") from None


# -- reachability --------------------------------------------------------------------

def _session(live: bool) -> requests.Session:
    s = requests.Session()
    # Proxy settings from the environment apply to live targets only: a loopback target is never behind one.
    s.trust_env = live
    return s


def exception_chain(exc: BaseException):
    """`exc` and every exception it wraps (cause, context, urllib3's reason, requests' first argument)."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None)]
        todo += [a for a in e.args[:1] if isinstance(a, BaseException)]
        todo = [t for t in todo if isinstance(t, BaseException)]


def connection_problem(exc: BaseException, timeout: float | None = None) -> str:
    """A few words on why a connection failed, from the innermost cause we recognise."""
    causes = list(exception_chain(exc))
    for kind, words in ((ConnectionRefusedError, "connection refused"), (ConnectionResetError, "connection reset"),
                        (ConnectionAbortedError, "connection aborted")):
        if any(isinstance(e, kind) for e in causes):
            return words
    if any(type(e).__name__ == "NameResolutionError" for e in causes):
        return "host name not found"
    if any(isinstance(e, (TimeoutError, requests.exceptions.Timeout)) or "Timeout" in type(e).__name__
           for e in causes):
        return f"no answer within {timeout:g} s" if timeout else "timed out"
    return " ".join(str(exc).split())[:200]


def probe(target: Target, timeout: float = 3.0) -> None:
    """Fail fast (TargetUnreachable) when nothing answers at the endpoint; any HTTP answer will do."""
    try:
        with _session(target.live) as s:
            s.get(f"{target.endpoint}/", timeout=(timeout, timeout), allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        raise TargetUnreachable(f"{describe(target.name, target.endpoint)} is unreachable: "
                                f"{connection_problem(exc, timeout)}") from None


def _wait_until_answering(target: Target, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            probe(target, timeout=min(1.0, within))
            return
        except TargetUnreachable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
