"""Identity tables. Secrets are never stored: passwords as argon2 hashes, tokens and API key
secrets as SHA-256 digests (they are long random values, so a fast hash is enough), TOTP
seeds and JWT signing keys sealed with the key ring."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text

from clinicflow.infra.columns import instant, timestamps, uuid_key, uuid_ref
from clinicflow.infra.db import metadata


def _attempt_budget(name: str, *keys: str) -> Table:
    """A sign-in back-off budget, one row per `keys` (each a name as typed, or a network):
    the unresolved attempts, until when further ones are refused, and when it last changed
    (indexed, for sweeping stale rows). The per-network and the account-wide budgets are
    the same counter over different keys."""
    return Table(
        name,
        metadata,
        *(Column(key, String(64), primary_key=True) for key in keys),
        Column("attempts", Integer, nullable=False),
        instant("blocked_until", nullable=True),
        instant("updated_at"),
        Index(f"ix_{name}_updated_at", "updated_at"),
    )


users = Table(
    "identity_user",
    metadata,
    uuid_key(),
    Column("username", String(64), nullable=False, unique=True),  # lower-cased
    Column("role", String(16), nullable=False),
    Column("practitioner", String(64), nullable=True),  # calendar key, for practitioners
    Column("password_hash", Text, nullable=False),
    Column("totp_secret_enc", Text, nullable=True),
    instant("totp_confirmed_at", nullable=True),
    Column("totp_last_step", Integer, nullable=True),  # a code is accepted once
    Column("active", Boolean, nullable=False),
    # Failed sign-ins since the last success, from any address (for staff to see); the
    # back-off itself is per network and per account, in identity_signin_*.
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    instant("last_login_at", nullable=True),
    *timestamps(),
)

# One row per (account name, client network) with unresolved sign-in attempts. Keyed by the
# name as typed, not the user id, so a name with no account backs off exactly like one with.
# `address` is the client's network: the IPv4 address, or the IPv6 /64.
signin_backoff = _attempt_budget("identity_signin_backoff", "username", "address")

# The account-wide budget: unresolved attempts from networks the account has not signed in
# from lately, by the name as typed (a missing name counts alike).
signin_account = _attempt_budget("identity_signin_account", "username")

# Networks an account signed in from successfully: exempt from the account-wide budget.
# The network is stored as a keyed hash (the key ring's blind index), never as written.
signin_known = Table(
    "identity_signin_known",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("network_hash", String(64), primary_key=True),
    instant("signed_in_at"),
    Index("ix_identity_signin_known_signed_in_at", "signed_in_at"),
)

sessions = Table(
    "identity_session",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # staff | patient
    uuid_ref("user_id", "identity_user.id", nullable=True),
    uuid_ref("patient_id", nullable=True),
    instant("created_at"),
    instant("last_seen_at"),
    instant("expires_at"),  # the absolute lifetime
    instant("revoked_at", nullable=True),
    Index("ix_identity_session_user_id", "user_id"),
)

login_links = Table(
    "identity_login_link",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    uuid_ref("patient_id"),
    instant("created_at"),
    instant("expires_at"),
    instant("used_at", nullable=True),
)

api_keys = Table(
    "identity_api_key",
    metadata,
    Column("id", String(32), primary_key=True),  # public: the key's prefix and OAuth client_id
    Column("secret_hash", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("owner", String(100), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("tier", String(32), nullable=False),
    instant("created_at"),
    instant("last_used_at", nullable=True),
    instant("revoked_at", nullable=True),
    Column("replaced_by", String(32), nullable=True),
)

signing_keys = Table(
    "identity_signing_key",
    metadata,
    Column("kid", String(32), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_key_enc", Text, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    instant("created_at"),
    # Signing moves to the newest key on rotation; older keys still verify until retired.
    instant("retired_at", nullable=True),
)
