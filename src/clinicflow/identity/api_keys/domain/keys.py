"""API keys for integrations: `cfk_<id>_<secret>`, shown once, stored as a digest.

The id is public (it names the key in lists and logs, and is the OAuth client_id); only
the secret's SHA-256 is kept. Rotation issues a new key with the same owner, scopes and tier
and lets the old one live for a grace period, so a deployment can switch without downtime.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from clinicflow.shared.actor import Scope

PREFIX = "cfk_"
_SHAPE = re.compile(r"^cfk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{20,})$")
_TIER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# No look-alike characters (0/O, 1/l/I): ids are read aloud and typed from screenshots.
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
SCOPES = frozenset(s.value for s in Scope)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    secret_hash: str = field(repr=False)
    name: str
    owner: str  # who answers for this key
    scopes: tuple[str, ...]
    tier: str  # the rate-limit tier
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None  # may lie ahead: a rotated key's grace period
    replaced_by: str | None = None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None or self.revoked_at > now


def new_key_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def full_key(key_id: str, secret: str) -> str:
    return f"{PREFIX}{key_id}_{secret}"


def parse(presented: str) -> tuple[str, str] | None:
    """The id and the secret of a presented key, or None when it is not shaped like one."""
    match = _SHAPE.match(presented)
    return None if match is None else (match.group(1), match.group(2))


def problems(name: str, owner: str, scopes: Collection[str], tier: str) -> list[str]:
    """What is wrong with a new key's description; empty when nothing is."""
    found = []
    if not 1 <= len(name) <= 100:
        found.append("name: 1 to 100 characters")
    if not 1 <= len(owner) <= 100:
        found.append("owner: 1 to 100 characters (who answers for this key)")
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        found.append(f"scopes {unknown} unknown: use {', '.join(sorted(SCOPES))}")
    if not _TIER.match(tier):
        found.append("tier: lower-case letters, digits, - or _, e.g. standard")
    return found
