"""HTTP shapes of the webhooks API. Secrets appear only in `SubscriptionWithSecretOut`, the
answer to creating a subscription or rotating its secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from clinicflow.infra.request_input import RequestModel
from clinicflow.infra.response_model import ResponseModel
from clinicflow.shared.records import from_attributes
from clinicflow.webhooks.service import WithSecret
from clinicflow.webhooks.views import AttemptView, DeliveryView, SubscriptionView

Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
EventType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(max_length=200)]


class _In(RequestModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionIn(_In):
    url: Url = Field(
        description="https, on a public address (no loopback, private or link-local one)"
    )
    event_types: list[EventType] = Field(
        min_length=1, max_length=64, description='event types to receive, or ["*"] for all'
    )
    description: Description | None = None


class SubscriptionPatch(_In):
    url: Url | None = None
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None
    description: Description | None = None


class RotateIn(_In):
    previous_secret_valid_hours: int = Field(
        default=24, ge=0, le=168, description="how long the old secret also signs (0: not at all)"
    )


@dataclass(frozen=True, slots=True)
class SubscriptionOut(SubscriptionView):
    pass  # the view itself, under its name in the API (never its secret)


@dataclass(frozen=True, slots=True)
class SubscriptionWithSecretOut(SubscriptionOut):
    secret: Annotated[
        str, Field(description="shown this once: store it now; it cannot be read again")
    ]

    @classmethod
    def with_secret(cls, made: WithSecret) -> SubscriptionWithSecretOut:
        return from_attributes(cls, made.subscription, secret=made.secret)


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]


class AttemptOut(ResponseModel[AttemptView]):
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(ResponseModel[DeliveryView]):
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    attempts: list[AttemptOut]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
