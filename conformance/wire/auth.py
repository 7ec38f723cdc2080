"""SigV4 signing: credentials from botocore's standard chain, signatures from requests-aws4auth.

botocore is the reference for what AWS accepts, so the signer is requests-aws4auth
with one adaptation: the canonical URI is computed by botocore's own path
normalisation (tests/test_auth.py holds the two signers equal).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import quote

import botocore.exceptions
import botocore.session
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path
from requests.auth import AuthBase
from requests_aws4auth import AWS4Auth

DUMMY_ACCESS_KEY = "qsconform-dummy"
DUMMY_SECRET_KEY = "qsconform-dummy"
DUMMY_METHOD = "qsconform-dummy"
SERVICE = "quicksight"


class CredentialsError(Exception):
    """Credentials were asked for (a named profile, a config file) but cannot be loaded."""


def dummy_credentials() -> Credentials:
    """Static credentials for emulators, which check that a request is signed but not by whom."""
    return Credentials(DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, method=DUMMY_METHOD)


def is_dummy(creds: Credentials | None) -> bool:
    return creds is not None and getattr(creds, "method", None) == DUMMY_METHOD


def credentials(profile: str | None = None, *, allow_dummy: bool) -> Credentials | None:
    """Credentials from the standard AWS chain, as the AWS CLI finds them.

    Environment variables (with AWS_SESSION_TOKEN), AWS_PROFILE or `profile` in the
    shared files (static keys, SSO, assume-role, credential_process), container and
    instance metadata. Temporary credentials come back refreshable. When nothing is
    found: dummy credentials if `allow_dummy`, else None. A named profile that does
    not exist is an error even with `allow_dummy`: the user asked for it.
    """
    try:
        creds = botocore.session.Session(profile=profile).get_credentials()
    except botocore.exceptions.ProfileNotFound:
        raise CredentialsError(f"AWS profile {profile!r} not found in the AWS config or credentials file") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise CredentialsError(f"could not load AWS credentials: {exc}") from None
    if creds is None and allow_dummy:
        return dummy_credentials()
    return creds


class BotocoreSigV4Auth(AWS4Auth):
    """AWS4Auth that signs the exact bytes sent, with botocore's canonical URI, refreshed credentials
    on every request, and a lock (AWS4Auth changes its own state while signing)."""

    def __init__(self, creds: Credentials, region: str, service: str = SERVICE,
                 on_refresh: Callable[[str, str, str | None], None] | None = None):
        # AWS4Auth asks refreshable_credentials for frozen credentials before every
        # signature; botocore's static Credentials answer that too.
        super().__init__(refreshable_credentials=creds, region=region, service=service)
        self._lock = threading.Lock()
        self._on_refresh = on_refresh

    def __call__(self, req):
        with self._lock:
            return super().__call__(req)

    def refresh_credentials(self):
        super().refresh_credentials()
        if self._on_refresh is not None:
            self._on_refresh(self.access_id, self.signing_key.secret_key, self.session_token)

    def amz_cano_path(self, path):
        # botocore (SigV4Auth._normalize_url_path): remove dot segments and empty
        # segments, then percent-encode the already encoded path once more, as
        # every service but S3 expects. AWS4Auth's posixpath variant agrees on the
        # paths we send; using botocore's function makes "agrees" a non-question.
        return quote(normalize_url_path(path), safe="/~")

    def __repr__(self) -> str:
        return f"BotocoreSigV4Auth(region={self.region!r}, service={self.service!r})"


def signer(creds: Credentials, region: str, service: str = SERVICE, *,
           on_refresh: Callable[[str, str, str | None], None] | None = None) -> AuthBase:
    """A requests auth that SigV4-signs every request with `creds` (refreshed when they expire).

    `on_refresh(access_key, secret_key, token)` is told the values used for each
    signature, so that a Redactor can scrub credentials that did not exist when
    the run started.
    """
    if creds is None:
        raise CredentialsError("no credentials to sign with")
    return BotocoreSigV4Auth(creds, region, service, on_refresh=on_refresh)
