"""A patient's one-time sign-in link: short-lived, used once, and the message that brings it.

The link carries a random token (`cfl_…`) stored only as its digest. Redeeming it is a
conditional update that only one request can win (the repository), even when two arrive
together; a link that cannot be redeemed says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

PREFIX = "cfl_"
# Where a link may send the patient after signing in: a page of their own area, by path
# (never another origin: `//host`, `/\\host` and schemes cannot match).
_THEN = re.compile(r"/me(/[A-Za-z0-9_-]+)*")


def local_page(then: str | None) -> str | None:
    """`then` when it is a path of the patient's area that a link may lead to, else None."""
    if then and len(then) <= 200 and _THEN.fullmatch(then):
        return then
    return None


@dataclass(frozen=True, slots=True)
class LoginLink:
    token_hash: str
    patient_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def redeemable(self, now: datetime) -> bool:
        return self.used_at is None and self.expires_at > now


def refusal(link: LoginLink | None) -> str:
    """Why a link could not be redeemed (it was not `redeemable` when asked)."""
    if link is None:
        return "unknown sign-in link; ask for a new one"
    if link.used_at is not None:
        return "this sign-in link was already used; ask for a new one"
    return "this sign-in link has expired; ask for a new one"


def message(
    clinic: str, public_url: str, token: str, lifetime: timedelta, then: str | None = None
) -> tuple[str, str]:
    """The email's subject and text; the link leads on to `then` (a `local_page`) if given."""
    minutes = int(lifetime.total_seconds() // 60)
    page = local_page(then)
    onward = f"&next={quote(page, safe='/')}" if page else ""
    text = (
        f"Hello,\n\nUse this link to see and manage your visits at {clinic}. "
        f"It works once, for {minutes} minutes:\n\n"
        f"{public_url.rstrip('/')}/sign-in?token={token}{onward}\n\n"
        "If you did not ask for it, ignore this message; nothing changes.\n"
    )
    return f"Your sign-in link for {clinic}", text
