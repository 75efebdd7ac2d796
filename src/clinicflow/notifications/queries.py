"""Reading notifications for the API: staff (admin, front desk) see any patient's, a patient
signed in sees their own. Every read is audited; message texts are rendered on read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.infra.db import Database
from clinicflow.notifications.domain.subject import subject_from_facts
from clinicflow.notifications.render import Renderer
from clinicflow.notifications.tables import MESSAGE_STATUSES, messages
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import InvalidRequest

STAFF = frozenset({Role.ADMIN, Role.FRONT_DESK})
ACTION = "read_notifications"


@dataclass(frozen=True, slots=True)
class MessageView:
    id: str
    patient_id: str
    booking_id: str | None
    channel: str
    template: str
    status: str
    provider: str | None
    reason: str | None
    subject: str | None
    text: str | None
    created_at: datetime
    updated_at: datetime


class NotificationReader:
    def __init__(self, db: Database, trail: AuditTrail, renderer: Renderer) -> None:
        self._db = db
        self._trail = trail
        self._renderer = renderer

    async def list(
        self, actor: Actor, patient_id: str | None, status: str | None, limit: int = 200
    ) -> list[MessageView]:
        patient_id = await self._scope(actor, patient_id)
        if status is not None and status not in MESSAGE_STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(MESSAGE_STATUSES)}")
        query = select(messages).order_by(messages.c.created_at.desc(), messages.c.id)
        if patient_id is not None:
            query = query.where(messages.c.patient_id == patient_id)
        if status is not None:
            query = query.where(messages.c.status == status)
        async with self._db.read() as conn:
            rows = list((await conn.execute(query.limit(limit))).all())
        seen = sorted({r.patient_id for r in rows} | ({patient_id} if patient_id else set()))
        await self._trail.record_alone(actor, ACTION, [Access("patient", p, p) for p in seen])
        return [self._view(r) for r in rows]

    async def _scope(self, actor: Actor, patient_id: str | None) -> str | None:
        if actor.kind == "patient" and actor.role is Role.PATIENT and actor.patient_id:
            if patient_id not in (None, actor.patient_id):
                await self._trail.require_role(
                    actor,
                    False,
                    ACTION,
                    Access("patient", patient_id or "*", patient_id),
                    "a patient may list only their own notifications",
                )
            return actor.patient_id
        allowed = actor.kind == "user" and actor.role in STAFF
        target = patient_id if patient_id and len(patient_id) <= 36 else None
        await self._trail.require_role(
            actor,
            allowed,
            ACTION,
            Access("patient", patient_id or "*", target),
            "only admin and front desk staff may list notifications",
        )
        return patient_id

    def _view(self, r: Any) -> MessageView:
        subject = text = None
        if r.status != "skipped":
            kind = r.template.split(".", 1)[0]
            rendered = self._renderer.render(r.template, subject_from_facts(kind, r.facts))
            subject, text = rendered.subject or None, rendered.text
        return MessageView(
            id=r.id,
            patient_id=r.patient_id,
            booking_id=r.booking_id,
            channel=r.channel,
            template=r.template,
            status=r.status,
            provider=r.provider,
            reason=r.reason,
            subject=subject,
            text=text,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
