"""Web Push registration for a signed-in patient: the clinic's VAPID key, and adding or
removing the browser's subscription.

Registering a subscription is the patient's opt-in to push (the browser asked them first);
deleting it withdraws it. Deleting works even when push is no longer configured, so a
patient can always take their browser back. A browser taken over from another patient
touched their data too: both are in the audit entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.infra.audit_trail import Access
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.notifications.domain.push import Registration, checked_subscription
from clinicflow.notifications.guard import entry, push_owner
from clinicflow.notifications.ports import NotificationsUnitOfWork, Trail
from clinicflow.notifications.push.errors import PushNotConfigured
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

REGISTER = "register_push_subscription"
DELETE = "delete_push_subscription"


@dataclass(frozen=True, slots=True)
class Registered:
    id: str
    created_at: datetime
    updated_at: datetime


@dataclass(kw_only=True, eq=False)
class PushRegistry:
    """`public_key` None: push is not configured here (no VAPID key)."""

    uow: UnitsOfWork[NotificationsUnitOfWork]
    clock: Clock
    trail: Trail
    public_key: str | None
    allow_loopback: bool = False

    async def key(self, actor: Actor) -> str:
        await push_owner(self.trail, actor, "read_push_key")
        return self._configured()

    async def register(
        self, actor: Actor, endpoint: str, p256dh: str, auth: str, user_agent: str | None
    ) -> Registered:
        patient_id = await push_owner(self.trail, actor, REGISTER)
        self._configured()
        subscription = checked_subscription(
            endpoint, p256dh, auth, allow_loopback=self.allow_loopback
        )
        async with self.uow() as uow:
            now = self.clock.now()
            saved = await uow.push.save(Registration(patient_id, subscription, user_agent), now)
            owners = [patient_id, saved.previous_patient_id]
            for owner in (p for p in owners if p):
                uow.audit(entry(actor, REGISTER, Access("push_subscription", saved.id, owner)), now)
            await uow.commit()
        return Registered(saved.id, saved.created_at, saved.updated_at)

    async def unregister(self, actor: Actor, endpoint: str | None) -> None:
        patient_id = await push_owner(self.trail, actor, DELETE)
        if not endpoint:
            raise InvalidRequest(
                "give the subscription's endpoint: in the body, or as ?endpoint=",
                field="endpoint",
            )
        async with self.uow() as uow:
            removed = await uow.push.remove(patient_id, endpoint)
            if removed is not None:
                access = Access("push_subscription", removed, patient_id)
                uow.audit(entry(actor, DELETE, access), self.clock.now())
            await uow.commit()

    def _configured(self) -> str:
        if self.public_key is None:
            raise PushNotConfigured(
                "this clinic sends no push notifications (no VAPID key is configured); "
                "email and text messages still work"
            )
        return self.public_key
