"""Opaque bearer secrets: random, shown once, stored only as a SHA-256 digest.

They carry 256 bits of randomness, so a fast digest is enough (unlike passwords); lookups go
by digest, and the comparison is the database's equality on a value the caller cannot steer
toward a prefix match."""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(32)}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
