"""HTTP shapes of the notifications API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from clinicflow.notifications.messages.views import MessageView


class NotificationOut(BaseModel):
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

    @classmethod
    def of(cls, view: MessageView) -> NotificationOut:
        return cls(
            id=view.id,
            patient_id=view.patient_id,
            booking_id=view.booking_id,
            channel=view.channel,
            template=view.template,
            status=view.status,
            provider=view.provider,
            reason=view.reason,
            subject=view.subject,
            text=view.text,
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


class NotificationList(BaseModel):
    notifications: list[NotificationOut]
