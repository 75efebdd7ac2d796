"""Notification routes: the messages sent, or to be sent, to patients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.notifications.messages.schemas import NotificationList, NotificationOut
from clinicflow.notifications.messages.service import NotificationReader
from clinicflow.shared.errors import InvalidRequest
from clinicflow.shared.records import from_attributes

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])
NotificationReaderDep = Annotated[NotificationReader, Depends(provided(NotificationReader))]


@router.get(
    "",
    **documented(
        "listNotifications",
        "List the messages sent, or to be sent, to patients",
        *SIGNED_IN,
        InvalidRequest,
    ),
)
async def list_notifications(
    reader: NotificationReaderDep,
    actor: CurrentActor,
    patient_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(gt=0, le=500)] = 200,
) -> NotificationList:
    views = await reader.list(actor, patient_id, status, limit)
    return NotificationList(notifications=[from_attributes(NotificationOut, v) for v in views])
