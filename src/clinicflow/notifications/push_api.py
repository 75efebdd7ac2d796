"""Web Push registration for a signed-in patient: the clinic's VAPID key, and adding or
removing the browser's subscription. Expects the container's `notifications.push`.

Registering a subscription is the patient's opt-in to push (the browser asked them first);
deleting it withdraws it. Deleting works even when push is no longer configured, so a
patient can always take their browser back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.infra.db import Database
from clinicflow.infra.error_responses import SIGNED_IN, errors
from clinicflow.infra.request_input import RequestModel
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.notifications.push import MAX_ENDPOINT, PushStore, checked_subscription
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import InvalidRequest, NotFound

REGISTER = "register_push_subscription"
DELETE = "delete_push_subscription"


class PushNotConfigured(NotFound):
    code = "push_not_configured"
    title = "Push notifications are not configured"


@dataclass(frozen=True, slots=True)
class Registered:
    id: str
    created_at: datetime
    updated_at: datetime


class PushRegistry:
    """`public_key` None: push is not configured here (no VAPID key)."""

    def __init__(
        self,
        db: Database,
        trail: AuditTrail,
        store: PushStore,
        public_key: str | None,
        *,
        allow_loopback: bool = False,
    ) -> None:
        self._db = db
        self._trail = trail
        self._store = store
        self._public_key = public_key
        self._allow_loopback = allow_loopback

    async def key(self, actor: Actor) -> str:
        await self._patient(actor, "read_push_key")
        return self._configured()

    async def register(
        self, actor: Actor, endpoint: str, p256dh: str, auth: str, user_agent: str | None
    ) -> Registered:
        patient_id = await self._patient(actor, REGISTER)
        self._configured()
        subscription = checked_subscription(
            endpoint, p256dh, auth, allow_loopback=self._allow_loopback
        )
        async with self._db.write() as conn:
            saved = await self._store.save(conn, patient_id, subscription, user_agent)
            # A browser taken over from another patient touched their data too.
            owners = [patient_id, saved.previous_patient_id]
            accesses = [Access("push_subscription", saved.id, p) for p in owners if p]
            await self._trail.record(conn, actor, REGISTER, accesses)
        return Registered(saved.id, saved.created_at, saved.updated_at)

    async def unregister(self, actor: Actor, endpoint: str | None) -> None:
        patient_id = await self._patient(actor, DELETE)
        if not endpoint:
            raise InvalidRequest(
                "give the subscription's endpoint: in the body, or as ?endpoint=",
                field="endpoint",
            )
        async with self._db.write() as conn:
            removed = await self._store.remove(conn, patient_id, endpoint)
            if removed is not None:
                access = Access("push_subscription", removed, patient_id)
                await self._trail.record(conn, actor, DELETE, [access])

    async def _patient(self, actor: Actor, action: str) -> str:
        if actor.kind == "patient" and actor.role is Role.PATIENT and actor.patient_id:
            return actor.patient_id
        await self._trail.require_role(
            actor,
            False,
            action,
            Access("push_subscription", "*"),
            "only a signed-in patient may manage push notifications, for their own browser",
        )
        raise AssertionError("require_role refuses")  # pragma: no cover

    def _configured(self) -> str:
        if self._public_key is None:
            raise PushNotConfigured(
                "this clinic sends no push notifications (no VAPID key is configured); "
                "email and text messages still work"
            )
        return self._public_key


# --- HTTP ------------------------------------------------------------------------------------

router = APIRouter(prefix="/v1/notifications/push", tags=["notifications"])

Endpoint = Annotated[str, Field(min_length=1, max_length=MAX_ENDPOINT)]
Key = Annotated[str, Field(min_length=1, max_length=200)]


class KeysIn(RequestModel):
    p256dh: Key
    auth: Key


class PushSubscriptionIn(RequestModel):
    """The browser's `PushSubscription.toJSON()`, as it is (other members are ignored)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: Endpoint
    keys: KeysIn


class EndpointIn(RequestModel):
    model_config = ConfigDict(extra="ignore")

    endpoint: Endpoint


class KeyOut(BaseModel):
    application_server_key: str = Field(
        description="the VAPID public key, base64url (applicationServerKey in subscribe())"
    )


class PushSubscriptionOut(BaseModel):
    id: str
    created_at: datetime
    updated_at: datetime


PushRegistryDep = Annotated[PushRegistry, Depends(provided(PushRegistry))]


@router.get(
    "/key",
    operation_id="getPushKey",
    summary="The key a patient's browser subscribes to push notifications with",
    responses=errors(*SIGNED_IN, PushNotConfigured),
)
async def push_key(registry: PushRegistryDep, actor: CurrentActor) -> KeyOut:
    return KeyOut(application_server_key=await registry.key(actor))


@router.post(
    "/subscriptions",
    status_code=201,
    operation_id="registerPushSubscription",
    summary="Register a patient's browser for push notifications",
    responses=errors(*SIGNED_IN, PushNotConfigured, InvalidRequest),
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
    status_code=204,
    operation_id="deletePushSubscription",
    summary="Stop push notifications to a patient's browser",
    responses=errors(*SIGNED_IN, InvalidRequest),
)
async def delete_subscription(
    registry: PushRegistryDep,
    actor: CurrentActor,
    body: EndpointIn | None = None,
    endpoint: Annotated[str | None, Query(max_length=MAX_ENDPOINT)] = None,
) -> Response:
    await registry.unregister(actor, body.endpoint if body else endpoint)
    return Response(status_code=204)
