"""Webhook routes (administrators only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.shared.records import from_attributes
from clinicflow.webhooks.commands import DeliveryFilter
from clinicflow.webhooks.errors import (
    DeliveryNotFound,
    InvalidSubscription,
    NotRetryable,
    SubscriptionNotFound,
)
from clinicflow.webhooks.schemas import (
    DeliveryList,
    DeliveryOut,
    RotateIn,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionWithSecretOut,
)
from clinicflow.webhooks.service import WebhookService

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
Id = Annotated[str, Query(max_length=36)]
WebhookServiceDep = Annotated[WebhookService, Depends(provided(WebhookService))]


@router.post(
    "/subscriptions",
    **documented(
        "createWebhookSubscription",
        "Subscribe a URL to the clinic's events (answers its signing secret once)",
        *SIGNED_IN,
        InvalidSubscription,
        status_code=201,
    ),
)
async def create_subscription(
    service: WebhookServiceDep, actor: CurrentActor, body: SubscriptionIn
) -> SubscriptionWithSecretOut:
    made = await service.create(actor, body.url, body.event_types, body.description)
    return SubscriptionWithSecretOut.with_secret(made)


@router.get(
    "/subscriptions",
    **documented("listWebhookSubscriptions", "List the webhook subscriptions", *SIGNED_IN),
)
async def list_subscriptions(service: WebhookServiceDep, actor: CurrentActor) -> SubscriptionList:
    found = await service.list_subscriptions(actor)
    return SubscriptionList(subscriptions=[from_attributes(SubscriptionOut, s) for s in found])


@router.patch(
    "/subscriptions/{subscription_id}",
    **documented(
        "updateWebhookSubscription",
        "Change a webhook subscription (URL, events, active)",
        *SIGNED_IN,
        SubscriptionNotFound,
        InvalidSubscription,
    ),
)
async def update_subscription(
    service: WebhookServiceDep, actor: CurrentActor, subscription_id: str, body: SubscriptionPatch
) -> SubscriptionOut:
    changes = body.model_dump(exclude_unset=True)
    return from_attributes(SubscriptionOut, await service.update(actor, subscription_id, changes))


@router.delete(
    "/subscriptions/{subscription_id}",
    **documented(
        "deleteWebhookSubscription",
        "Delete a webhook subscription",
        *SIGNED_IN,
        SubscriptionNotFound,
        status_code=204,
    ),
)
async def delete_subscription(
    service: WebhookServiceDep, actor: CurrentActor, subscription_id: str
) -> None:
    await service.delete(actor, subscription_id)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    **documented(
        "rotateWebhookSecret",
        "Give a subscription a new signing secret (the old one works a while longer)",
        *SIGNED_IN,
        SubscriptionNotFound,
    ),
)
async def rotate_secret(
    service: WebhookServiceDep,
    actor: CurrentActor,
    subscription_id: str,
    body: RotateIn | None = None,
) -> SubscriptionWithSecretOut:
    grace = timedelta(hours=(body or RotateIn()).previous_secret_valid_hours)
    made = await service.rotate_secret(actor, subscription_id, grace)
    return SubscriptionWithSecretOut.with_secret(made)


@router.get(
    "/deliveries",
    **documented(
        "listWebhookDeliveries",
        "List webhook deliveries and their outcomes",
        *SIGNED_IN,
        InvalidSubscription,
    ),
)
async def list_deliveries(
    service: WebhookServiceDep,
    actor: CurrentActor,
    subscription_id: Id | None = None,
    status: Literal["pending", "delivered", "failed"] | None = None,
    event_id: Id | None = None,
    limit: Annotated[int, Query(gt=0, le=500)] = 100,
) -> DeliveryList:
    where = DeliveryFilter(subscription_id, status, event_id, limit)
    found = await service.list_deliveries(actor, where)
    return DeliveryList(deliveries=[DeliveryOut.of(d) for d in found])


@router.post(
    "/deliveries/{delivery_id}/retry",
    **documented(
        "retryWebhookDelivery",
        "Send a failed webhook delivery again",
        *SIGNED_IN,
        DeliveryNotFound,
        NotRetryable,
    ),
)
async def retry_delivery(
    service: WebhookServiceDep, actor: CurrentActor, delivery_id: str
) -> DeliveryOut:
    return DeliveryOut.of(await service.retry(actor, delivery_id))
