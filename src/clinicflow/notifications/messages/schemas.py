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
        return cls.model_validate(view, from_attributes=True)


class NotificationList(BaseModel):
    notifications: list[NotificationOut]
