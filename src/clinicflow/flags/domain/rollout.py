"""Who a flag reaches.

A flag reaches a client when it is enabled and the client's bucket (a stable hash of flag and
client id, 0..99) is under its percentage: the same client always gets the same answer, and
raising the percentage only adds clients. Unknown flags are off, with their default from
`DEFAULTS` until an admin sets them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

# The platform's flags, and whether each is on before an admin says otherwise.
DEFAULTS: Mapping[str, tuple[bool, str]] = {
    "paypal_backup": (True, "offer PayPal when Stripe is unavailable"),
    "waitlist_auto_offers": (True, "offer freed slots to waitlist entries automatically"),
}


def in_rollout(key: str, client_id: str, percentage: int) -> bool:
    digest = hashlib.sha256(f"{key}:{client_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percentage


def reaches(key: str, enabled: bool, percentage: int, client_id: str | None) -> bool:
    """Whether flag `key` (enabled or not, at `percentage`) is on for `client_id`; a partial
    rollout reaches no caller without a client id."""
    if not enabled:
        return False
    if percentage >= 100:
        return True
    return client_id is not None and in_rollout(key, client_id, percentage)


def default_text(key: str) -> str:
    return DEFAULTS.get(key, (False, ""))[1]
