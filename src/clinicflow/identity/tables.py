"""Identity tables. Secrets are never stored: passwords as argon2 hashes, tokens and API key
secrets as SHA-256 digests (they are long random values, so a fast hash is enough), TOTP
seeds and JWT signing keys sealed with the key ring."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from clinicflow.infra.db import UTCDateTime, metadata

users = Table(
    "identity_user",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),  # lower-cased
    Column("role", String(16), nullable=False),
    Column("practitioner", String(64), nullable=True),  # calendar key, for practitioners
    Column("password_hash", Text, nullable=False),
    Column("totp_secret_enc", Text, nullable=True),
    Column("totp_confirmed_at", UTCDateTime, nullable=True),
    Column("totp_last_step", Integer, nullable=True),  # a code is accepted once
    Column("active", Boolean, nullable=False),
    # Failed sign-ins since the last success, from any address (for staff to see); the
    # back-off itself is per network and per account, in identity_signin_*.
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("last_login_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One row per (account name, client network) with unresolved sign-in attempts. Keyed by the
# name as typed, not the user id, so a name with no account backs off exactly like one with.
# `address` is the client's network: the IPv4 address, or the IPv6 /64.
signin_backoff = Table(
    "identity_signin_backoff",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("blocked_until", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_identity_signin_backoff_updated_at", "updated_at"),
)

# The account-wide budget: unresolved attempts from networks the account has not signed in
# from lately, by the name as typed (a missing name counts alike).
signin_account = Table(
    "identity_signin_account",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("blocked_until", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_identity_signin_account_updated_at", "updated_at"),
)

# Networks an account signed in from successfully: exempt from the account-wide budget.
# The network is stored as a keyed hash (the key ring's blind index), never as written.
signin_known = Table(
    "identity_signin_known",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("network_hash", String(64), primary_key=True),
    Column("signed_in_at", UTCDateTime, nullable=False),
    Index("ix_identity_signin_known_signed_in_at", "signed_in_at"),
)

sessions = Table(
    "identity_session",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # staff | patient
    Column("user_id", String(36), ForeignKey("identity_user.id"), nullable=True),
    Column("patient_id", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),  # the absolute lifetime
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_identity_session_user_id", "user_id"),
)

login_links = Table(
    "identity_login_link",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("patient_id", String(36), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
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
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("replaced_by", String(32), nullable=True),
)

signing_keys = Table(
    "identity_signing_key",
    metadata,
    Column("kid", String(32), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_key_enc", Text, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Signing moves to the newest key on rotation; older keys still verify until retired.
    Column("retired_at", UTCDateTime, nullable=True),
)
