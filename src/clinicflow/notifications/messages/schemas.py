"""HTTP shapes of the notifications API."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from clinicflow.notifications.messages.views import MessageView


@dataclass(frozen=True, slots=True)
class NotificationOut(MessageView):
    pass  # the view itself, under its name in the API


class NotificationList(BaseModel):
    notifications: list[NotificationOut]
