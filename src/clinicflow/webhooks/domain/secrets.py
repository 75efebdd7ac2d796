"""Subscription secrets: how they look, and how they are sealed at rest.

A secret is shown once, when it is created or rotated, and stored sealed with the key ring (it
must be usable for HMAC, so it cannot be a digest), each column under its own associated
data, so values do not move between them (`seal_context`; `sealed.py` lists the columns for
key rotation). While a secret is being rotated the previous one signs too, until its grace
period ends.
"""

from __future__ import annotations

from datetime import datetime

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix that marks secrets, not a secret)
SECRET_COLUMNS = ("secret_enc", "previous_secret_enc")


def seal_context(column: str) -> str:
    """Associated data of a sealed secret: its column."""
    return f"webhooks_subscription.{column}"


def previous_live(expires_at: datetime | None, now: datetime) -> bool:
    """Whether the secret before the last rotation still signs at `now`."""
    return expires_at is not None and expires_at > now
