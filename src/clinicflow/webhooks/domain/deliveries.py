"""A delivery of one event to one subscription, and what an attempt at it leaves.

A delivery is claimed before each attempt (`Claim`: no other worker may attempt it until
`until`), attempted with no transaction open, and its outcome recorded (`Outcome`): delivered
on a 2xx; otherwise pending again at the retry schedule's next time, or failed when the
schedule gives up (or when the attempt was an administrator's one more try).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.webhooks.domain.retry import Random, RetrySchedule

DELIVERY_STATUSES = ("pending", "delivered", "failed")
MAX_ERROR = 200


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker may attempt now: no other can until `until`."""

    delivery_id: str
    event_id: str
    event_type: str
    body: str
    attempts: int  # made before this one
    until: datetime
    url: str
    subscription_id: str  # the row its secrets are sealed to
    secret_enc: str
    previous_secret_enc: str | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Outcome:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    status: str  # the delivery's status after it: pending|delivered|failed
    next_attempt_at: datetime | None


def outcome(
    claim: Claim,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    *,
    schedule: RetrySchedule,
    rand: Random,
    final: bool,
) -> Outcome:
    """What an attempt leaves: `error` None is a success. A failed attempt is retried at the
    schedule's next time unless it was `final` (an administrator's retry) or the last."""
    if error is None:
        return Outcome(at, status_code, None, duration_ms, "delivered", None)
    failed = claim.attempts + 1
    retry_at = None if final else schedule.next_attempt(failed, at, rand)
    status = "failed" if retry_at is None else "pending"
    return Outcome(at, status_code, error[:MAX_ERROR], duration_ms, status, retry_at)
