"""A server-side session, and when it stops working: idle too long, past its absolute
lifetime, or revoked. The token is opaque (`cfs_…`), sent as a cookie or a bearer token,
and stored only as its digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Literal

PREFIX = "cfs_"

# Recording activity costs a write; once a minute is precise enough for a 15-minute timeout.
TOUCH_EVERY = timedelta(minutes=1)


class SessionState(Enum):
    ACTIVE = "active"
    IDLE = "idle"
    EXPIRED = "expired"
    REVOKED = "revoked"


def state(
    *,
    last_seen_at: datetime,
    expires_at: datetime,
    revoked_at: datetime | None,
    idle: timedelta,
    now: datetime,
) -> SessionState:
    if revoked_at is not None and revoked_at <= now:
        return SessionState.REVOKED
    if now >= expires_at:
        return SessionState.EXPIRED
    if now - last_seen_at >= idle:
        return SessionState.IDLE
    return SessionState.ACTIVE


def should_touch(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= TOUCH_EVERY


def explain(found: SessionState) -> str:
    return {
        SessionState.IDLE: "the session timed out after inactivity; sign in again",
        SessionState.EXPIRED: "the session reached its maximum lifetime; sign in again",
        SessionState.REVOKED: "the session was signed out; sign in again",
        SessionState.ACTIVE: "the session is active",
    }[found]


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: str
    kind: Literal["staff", "patient"]
    user_id: str | None
    patient_id: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute lifetime
    revoked_at: datetime | None = None
    # A staff session's account as it is now (read with the session; None for patients).
    role: str | None = None
    practitioner: str | None = None
    account_active: bool | None = None

    def state(self, idle: timedelta, now: datetime) -> SessionState:
        return state(
            last_seen_at=self.last_seen_at,
            expires_at=self.expires_at,
            revoked_at=self.revoked_at,
            idle=idle,
            now=now,
        )

    def refusal(self, idle: timedelta, now: datetime) -> str | None:
        """Why the session may not be used now, or None when it may."""
        found = self.state(idle, now)
        if found is not SessionState.ACTIVE:
            return explain(found)
        if self.kind == "staff" and not self.account_active:
            return "this account is disabled; ask an administrator"
        return None
