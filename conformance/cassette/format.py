"""What a cassette file is written in: its version, the placeholders that stand for what differs between
targets, and the error for a cassette that cannot be used."""
from __future__ import annotations

import re

SCHEMA_VERSION = 1  # cassette.schema.json accepts this one only
ACCOUNT, REGION, REQUEST_ID = "{account}", "{region}", "{request-id}"
PRINCIPAL_ID, INVITATION_URL, TIMESTAMP = "{principal-id}", "{invitation-url}", "{timestamp}"
PREFIX = "{prefix}"  # the run's prefix inside the rest of a user name (the users table)
USER_REFERENCE = re.compile(r"\{user-([0-9]+)\}")  # ASCII digits, as in cassette.schema.json


class CassetteError(Exception):
    """A cassette file that is missing or malformed (the CLI exits 2 with this one-line message)."""
