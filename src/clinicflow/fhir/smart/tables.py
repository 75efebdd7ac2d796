"""The SMART clients, the assertion ids they have spent, and the access tokens issued.

A client's public keys are either a JWKS URL (fetched when a token is asked for) or a JWKS
document registered with it. Assertion ids (`jti`) are kept with their expiry: the primary
key refuses a second use, and a row past its expiry guards nothing (the assertion itself is
refused by then), so retention may drop it. Tokens are stored as their SHA-256 only.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from clinicflow.infra.columns import instant
from clinicflow.infra.db import UTCDateTime, metadata

fhir_clients = Table(
    "fhir_client",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("jwks_url", String(2000), nullable=True),
    Column("jwks", Text, nullable=True),  # a JWKS document (JSON), public keys only
    Column("scopes", String(500), nullable=False),  # space-separated
    instant("created_at"),
    Column("revoked_at", UTCDateTime, nullable=True),
)

fhir_assertions = Table(
    "fhir_assertion",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("jti", String(255), primary_key=True),
    instant("expires_at"),
)

fhir_tokens = Table(
    "fhir_token",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 of the token, hex
    Column("client_id", String(64), nullable=False, index=True),
    Column("scopes", String(500), nullable=False),
    instant("expires_at"),
)
