"""The SMART clients and the grants of their tokens, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SmartClient:
    id: str
    name: str
    jwks_url: str | None
    jwks: str | None  # a registered JWKS document (JSON)
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenGrant:
    client_id: str
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedSmartToken:
    access_token: str
    expires_in: int
    scope: str
