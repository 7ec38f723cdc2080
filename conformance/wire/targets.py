"""Where requests go: moto's real server, our reference server, real AWS, or any base URL.

`open_target` starts what needs starting and refuses a live (non-loopback)
target unless asked with allow_live: a conformance run creates users.
"""
from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
import botocore.session
import requests
from requests.auth import AuthBase

from qsconform.conformance.wire import auth
from qsconform.conformance.wire.redact import Redactor
from qsconform.conformance.wire.serverlog import MOTO_LOGGERS, REFERENCE_LOGGERS, ServerLog

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account, also the reference server's
SERVICE = auth.SERVICE
KEYWORDS = ("moto", "reference", "aws")


class TargetError(Exception):
    """Bad usage or configuration (the CLI exits 2)."""


class LiveTargetRefused(TargetError):
    """A non-loopback target without allow_live (the CLI exits 2)."""


class TargetUnreachable(Exception):
    """Nothing answers at the target (the CLI exits 3)."""


class NotQuickSight(TargetUnreachable):
    """Something answers at the target, but no QuickSight endpoint would answer so (the CLI exits 3)."""


@dataclass(eq=False)
class Target:
    """An opened target. Close it (or use it as a context manager) to stop what was started."""

    name: str  # "moto" | "reference" | "aws" | the URL given
    endpoint: str  # base URL, no trailing slash
    region: str
    account_id: str
    live: bool  # the endpoint is not on a loopback address
    auth: AuthBase = field(repr=False)
    redactor: Redactor = field(default_factory=Redactor, repr=False)
    session_token: bool = False  # signatures carry X-Amz-Security-Token (the value stays in auth)
    service: str = SERVICE
    on_reset: Callable[[], None] | None = field(default=None, repr=False)
    on_close: Callable[[], None] | None = field(default=None, repr=False)
    closed: bool = False
    endpoint_source: str = ""  # where the endpoint came from, for targets that resolve one (aws)
    server_log: ServerLog | None = field(default=None, repr=False)  # a server the run started: its log, per exchange

    @property
    def partition(self) -> str:
        """The AWS partition of the target's region (aws, aws-cn, aws-us-gov...): the one its ARNs name."""
        return partition_of(self.region)

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

EMBEDDED = ("moto", "reference")  # targets a run starts itself, on loopback, and stops at its end


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


def partition_of(region: str) -> str:
    """The partition botocore's endpoint data gives a region; aws for a region it does not know."""
    try:
        return botocore.session.get_session().get_partition_for_region(region)
    except Exception:  # an unknown region (an emulator's own name): the commercial partition
        return "aws"


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
    signing, redactor, token = _signing(auth.dummy_credentials(), region)
    server_log = ServerLog(MOTO_LOGGERS, redactor.redact).attach()
    # Port 0: the kernel picks a free port when the server binds, so no other process can take it in between.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    try:
        server.start()
    except BaseException:
        server_log.detach()
        raise
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    target = Target(name="moto", endpoint=endpoint, region=region, account_id=account_id or DEFAULT_ACCOUNT_ID,
                    live=False, auth=signing, redactor=redactor, session_token=token, server_log=server_log,
                    on_reset=lambda: _moto_reset(endpoint), on_close=_stopping(server.stop, server_log))
    try:
        _wait_until_answering(target, within=10.0)
    except TargetUnreachable:
        target.close()
        raise
    return target


def _stopping(stop: Callable[[], None], server_log: ServerLog) -> Callable[[], None]:
    """Stop a server, then stop capturing its log."""
    def close() -> None:
        try:
            stop()
        finally:
            server_log.detach()
    return close


def _moto_reset(endpoint: str) -> None:
    with _session(live=False) as s:
        r = s.post(f"{endpoint}/moto-api/reset", timeout=10)
    if not 200 <= r.status_code < 300:
        raise TargetError(f"moto did not reset: {endpoint}/moto-api/reset answered {r.status_code}")


def _open_reference(region: str, account_id: str | None, options: dict | None) -> Target:
    try:
        from qsconform.conformance.reference import start_reference
    except ImportError as exc:
        raise TargetError(f"the reference server is not available in this installation ({exc})") from None
    signing, redactor, token = _signing(auth.dummy_credentials(), region)
    server_log = ServerLog(REFERENCE_LOGGERS, redactor.redact).attach()
    try:
        server = start_reference(host="127.0.0.1", port=0, **(options or {}))
    except (TypeError, ValueError) as exc:
        server_log.detach()
        raise TargetError(f"cannot start the reference server: {exc}") from None
    except BaseException:
        server_log.detach()
        raise
    close = _stopping(server.stop, server_log)
    endpoint = str(server.url).rstrip("/")
    try:
        live = _guard_live("reference", endpoint, allow_live=False)
    except LiveTargetRefused:
        close()
        raise
    return Target(name="reference", endpoint=endpoint, region=region, account_id=account_id or DEFAULT_ACCOUNT_ID,
                  live=live, auth=signing, redactor=redactor, session_token=token, server_log=server_log,
                  on_reset=getattr(server, "reset", None), on_close=close)


class _Resolved(Exception):
    """Raised from botocore's before-send hook with the URL it was about to send to."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


# A request whose path is known, so that the base URL is what precedes it.
_PROBE_LABELS = {"AwsAccountId": "123456789012", "Namespace": "default", "UserName": "qsconform-endpoint"}
_PROBE_PATH = "/accounts/123456789012/namespaces/default/users/qsconform-endpoint"
_SETTINGS = {
    "environment_service": "environment variable {env}",
    "environment_global": "environment variable AWS_ENDPOINT_URL",
    "config_service": "profile {profile}: services section, quicksight endpoint_url",
    "config_global": "profile {profile}: endpoint_url",
}


@dataclass(frozen=True)
class ResolvedEndpoint:
    url: str  # base URL, no trailing slash
    source: str  # which setting gave it, in words


def resolve_aws_endpoint(region: str, profile: str | None = None) -> ResolvedEndpoint:
    """The endpoint a botocore quicksight client in `region` would send to, and where it came from.

    botocore decides, as for every SDK and the AWS CLI: AWS_ENDPOINT_URL_QUICKSIGHT, AWS_ENDPOINT_URL,
    the profile's services section and endpoint_url (unless ignore_configured_endpoint_urls), else the
    service's endpoint rules with the FIPS and dual-stack settings. The URL is read off a DescribeUser
    request that botocore builds but never sends.
    """
    from botocore import UNSIGNED
    from botocore.config import Config

    try:
        session = botocore.session.Session(profile=profile)
        client = session.create_client(SERVICE, region_name=region, config=Config(signature_version=UNSIGNED))
    except botocore.exceptions.ProfileNotFound:
        raise TargetError(f"AWS profile {profile!r} not found in the AWS config or credentials file") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise TargetError(f"cannot resolve the QuickSight endpoint: {exc}") from None

    def stop(request, **kwargs):
        raise _Resolved(request.url)

    client.meta.events.register_first("before-send.quicksight.DescribeUser", stop)
    try:
        client.describe_user(**_PROBE_LABELS)
    except _Resolved as resolved:
        url = resolved.url
    except botocore.exceptions.BotoCoreError as exc:  # e.g. FIPS asked for in a region without it
        raise TargetError(f"cannot resolve the QuickSight endpoint for {region}: {exc}") from None
    else:  # pragma: no cover - the hook always stops the call
        raise TargetError("cannot resolve the QuickSight endpoint")
    finally:
        client.close()
    base = url.split("?", 1)[0]
    base = base[: -len(_PROBE_PATH)] if base.endswith(_PROBE_PATH) else base
    return ResolvedEndpoint(base.rstrip("/"), _endpoint_source(session, profile, region))


def _endpoint_source(session, profile: str | None, region: str) -> str:
    from botocore.configprovider import ConfiguredEndpointProvider

    if not session.get_config_variable("ignore_configured_endpoint_urls"):
        provider = ConfiguredEndpointProvider(full_config=session.full_config,
                                              scoped_config=session.get_scoped_config(), client_name=SERVICE)
        for location, words in _SETTINGS.items():
            # The lookup order botocore uses; its per-setting getters are private, so a botocore
            # without them still resolves the URL and only loses the name of the setting.
            getter = getattr(provider, f"_get_endpoint_url_{location}", None)
            if getter is not None and getter():
                return words.format(env=f"AWS_ENDPOINT_URL_{SERVICE.upper()}",
                                    profile=profile or session.profile or "default")
        if provider.provide():
            return "a configured endpoint URL"
    variants = [name for name, key in (("FIPS", "use_fips_endpoint"), ("dual-stack", "use_dualstack_endpoint"))
                if session.get_config_variable(key)]
    return f"botocore's endpoint rules for {region}" + (f" ({', '.join(variants)})" if variants else "")


def _open_aws(region: str, account_id: str | None, profile: str | None, allow_live: bool) -> Target:
    endpoint = resolve_aws_endpoint(region, profile)
    if not allow_live:
        # Real AWS whatever the endpoint: a loopback one may be a proxy or tunnel to an account.
        raise LiveTargetRefused(
            f"refusing {describe('aws', endpoint.url)}: it is a real AWS account (endpoint from "
            f"{endpoint.source}), where qsconform would create and delete real users; pass --live to allow it")
    creds = _credentials(profile, allow_dummy=False)
    if creds is None:
        raise TargetError(
            "no AWS credentials found for --target aws: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(and AWS_SESSION_TOKEN for temporary credentials), or name a profile with AWS_PROFILE or "
            "--aws-profile (for SSO profiles run `aws sso login --profile NAME` first)")
    signing, redactor, token = _signing(creds, region)
    if account_id is None:
        account_id = discover_account_id(creds, region, profile)
    return Target(name="aws", endpoint=endpoint.url, region=region, account_id=account_id, live=True, auth=signing,
                  redactor=redactor, session_token=token, endpoint_source=endpoint.source)


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
        account_id = discover_account_id(creds, region, profile) if live and not auth.is_dummy(creds) \
            else DEFAULT_ACCOUNT_ID
    return Target(name=url, endpoint=endpoint, region=region, account_id=account_id, live=live, auth=signing,
                  redactor=redactor, session_token=token)


def discover_account_id(creds, region: str, profile: str | None = None) -> str:
    """The account of `creds`, from STS GetCallerIdentity (one call over the network, to the STS
    endpoint the profile and environment configure)."""
    from botocore.config import Config

    frozen = creds.get_frozen_credentials()
    client = botocore.session.Session(profile=profile).create_client(
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


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it wraps (cause, context, urllib3's reason, requests' first argument)."""
    todo: list[BaseException | None] = [exc]
    seen: set[int] = set()
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


def ensure_reachable(target: Target, timeout: float = 3.0, attempts: int = 3) -> None:
    """Fail fast (TargetUnreachable) when nothing answers at the endpoint; any HTTP answer will do. A connection
    broken after it was made (an answer lost on the way) is asked again, a few times."""
    import urllib3.exceptions

    for attempt in range(attempts):
        try:
            with _session(target.live) as s:
                s.get(f"{target.endpoint}/", timeout=(timeout, timeout), allow_redirects=False)
            return
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            made = not any(isinstance(e, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
                           for e in exception_chain(exc))
            if made and attempt + 1 < attempts:
                continue
            problem = exc
        except requests.exceptions.RequestException as exc:
            problem = exc
        raise TargetUnreachable(f"{describe(target.name, target.endpoint)} is unreachable: "
                                f"{connection_problem(problem, timeout)}") from None


def _wait_until_answering(target: Target, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            ensure_reachable(target, timeout=min(1.0, within))
            return
        except TargetUnreachable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
