"""Web Push routes for a signed-in patient: the key to subscribe with, and registering or
removing the browser's subscription."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.notifications.domain.push import MAX_ENDPOINT
from clinicflow.notifications.push.errors import PushNotConfigured
from clinicflow.notifications.push.schemas import (
    EndpointIn,
    KeyOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
)
from clinicflow.notifications.push.service import PushRegistry
from clinicflow.shared.errors import InvalidRequest

router = APIRouter(prefix="/v1/notifications/push", tags=["notifications"])
PushRegistryDep = Annotated[PushRegistry, Depends(provided(PushRegistry))]


@router.get(
    "/key",
    **documented(
        "getPushKey",
        "The key a patient's browser subscribes to push notifications with",
        *SIGNED_IN,
        PushNotConfigured,
    ),
)
async def push_key(registry: PushRegistryDep, actor: CurrentActor) -> KeyOut:
    return KeyOut(application_server_key=await registry.key(actor))


@router.post(
    "/subscriptions",
    **documented(
        "registerPushSubscription",
        "Register a patient's browser for push notifications",
        *SIGNED_IN,
        PushNotConfigured,
        InvalidRequest,
        status_code=201,
    ),
)
async def register_subscription(
    registry: PushRegistryDep,
    actor: CurrentActor,
    body: PushSubscriptionIn,
    user_agent: Annotated[str | None, Header()] = None,
) -> PushSubscriptionOut:
    made = await registry.register(
        actor, body.endpoint, body.keys.p256dh, body.keys.auth, user_agent
    )
    return PushSubscriptionOut(id=made.id, created_at=made.created_at, updated_at=made.updated_at)


@router.delete(
    "/subscriptions",
    **documented(
        "deletePushSubscription",
        "Stop push notifications to a patient's browser",
        *SIGNED_IN,
        InvalidRequest,
        status_code=204,
    ),
)
async def delete_subscription(
    registry: PushRegistryDep,
    actor: CurrentActor,
    body: EndpointIn | None = None,
    endpoint: Annotated[str | None, Query(max_length=MAX_ENDPOINT)] = None,
) -> Response:
    await registry.unregister(actor, body.endpoint if body else endpoint)
    return Response(status_code=204)
