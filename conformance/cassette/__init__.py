"""Cassettes: every exchange of a run, recorded in order and normalised so that another target can replay it.

A cassette is meant to be recorded against real AWS and kept in a repository,
so everything that belongs to one account, one region or one moment is
replaced by a placeholder, and nothing that could sign a request is kept:

  account id -> {account}          region -> {region}
  RequestId, x-amzn-RequestId value -> {request-id} (the header itself: present or not)
  PrincipalId -> {principal-id}    UserInvitationUrl -> {invitation-url}
  timestamps -> {timestamp}        a user name (any value starting with the run's prefix) -> {user-1}, {user-2}, ...

Headers are not recorded at all (so no Authorization, X-Amz-Security-Token,
X-Amz-Date or cookie), and everything passes through the target's Redactor.
A user reference keeps the rest of the name after the prefix (the cassette's
"users" table, with {prefix} where the prefix comes again inside a name), so a
replay under a fresh prefix of the same length sends names of the same length
and characters: a name that broke a rule still breaks it.

format: the version, the placeholders and CassetteError; names: user names <-> references;
normalise: what a target said -> placeholders, and back; record: the Cassette, recorded and saved;
load: reading a file, checked against cassette.schema.json.
"""
from qsconform.conformance.cassette.format import ACCOUNT, USER_REFERENCE, CassetteError
from qsconform.conformance.cassette.load import load_cassette
from qsconform.conformance.cassette.names import UserNames
from qsconform.conformance.cassette.normalise import Denormaliser, Normaliser
from qsconform.conformance.cassette.record import Cassette

__all__ = ["ACCOUNT", "USER_REFERENCE", "Cassette", "CassetteError", "Denormaliser", "Normaliser", "UserNames",
           "load_cassette"]
