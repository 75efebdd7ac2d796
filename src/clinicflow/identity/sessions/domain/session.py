"""When a session stops working: idle too long, past its absolute lifetime, or revoked."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

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
