"""Signing outbound webhooks, and verifying them as a receiver does (docs/webhooks.md).

    Clinicflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}." + body)>

The key is the whole `whsec_…` secret as UTF-8 bytes. The timestamp is signed with the raw
body, so a captured request replays only within the receiver's tolerance. While a secret is
being rotated the header carries one `v1=` per live secret; any one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from clinicflow.shared.numerals import is_decimal

HEADER = "Clinicflow-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300  # seconds either side of the receiver's clock


class SignatureError(ValueError):
    """The request is not proven to come from clinicflow; the message says why."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str | Sequence[str], timestamp: int, body: bytes) -> str:
    """The header's value: `t=…` then one `v1=…` per secret, in the order given."""
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys:
        raise ValueError("sign needs at least one secret")
    return ",".join(
        [f"t={timestamp}", *(f"{SCHEME}={signature(k, timestamp, body)}" for k in keys)]
    )


def parse(header: str) -> tuple[int, list[str]]:
    """The timestamp and the v1 signatures; other schemes are ignored (for future ones)."""
    timestamp: int | None = None
    found: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed {HEADER}: expected t=<unix seconds>,v1=<hex>")
        if name == "t":
            if not is_decimal(value):
                raise SignatureError(f"malformed {HEADER}: t must be whole unix seconds")
            timestamp = int(value)
        elif name == SCHEME:
            found.append(value)
    if timestamp is None:
        raise SignatureError(f"{HEADER} has no t= timestamp")
    if not found:
        raise SignatureError(f"{HEADER} has no {SCHEME}= signature")
    return timestamp, found


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    now: float | datetime,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Check a request's header against the raw body (before any JSON parsing); returns the
    signed timestamp. Raises `SignatureError` when missing, malformed, unmatched or stale."""
    if not header:
        raise SignatureError(f"missing {HEADER} header")
    timestamp, candidates = parse(header)
    expected = signature(secret, timestamp, body)
    # Compare with every candidate, in constant time each, and decide only at the end.
    matched = [hmac.compare_digest(expected, c) for c in candidates]
    if not any(matched):
        raise SignatureError(
            f"no {SCHEME} signature matches: wrong secret, or the body was altered "
            "(sign the raw bytes received, not re-serialized JSON)"
        )
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    age = current - timestamp
    if abs(age) > tolerance:
        when = "old" if age > 0 else "in the future"
        raise SignatureError(
            f"signature timestamp is {abs(int(age))} s {when}, beyond the tolerance of "
            f"{tolerance} s (a replay, or a clock that is off)"
        )
    return timestamp
