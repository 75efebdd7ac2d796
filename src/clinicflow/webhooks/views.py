"""What the webhooks' use cases answer: subscriptions (never their secrets) and the delivery
log, each delivery with its attempts in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.shared.records import from_attributes
from clinicflow.webhooks.domain.secrets import previous_live
from clinicflow.webhooks.domain.subscriptions import Subscription


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    previous_secret_expires_at: datetime | None  # the old secret still signs until then

    @classmethod
    def of(cls, s: Subscription, now: datetime) -> SubscriptionView:
        expires = s.previous_secret_expires_at
        return from_attributes(
            cls,
            s,
            event_types=list(s.event_types),
            previous_secret_expires_at=expires if previous_live(expires, now) else None,
        )


@dataclass(frozen=True, slots=True)
class AttemptView:
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None  # pending only
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    attempts: list[AttemptView]
