"""The route Microsoft Graph posts change notifications to. It carries no credentials of ours
(gateway/auth.py lets `ROUTES` through): Graph signs nothing, so each notification's
clientState is checked instead (service.ChangeNotifications)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse

from clinicflow.calendars.subscriptions.errors import NotificationRefused, NotificationsOff
from clinicflow.calendars.subscriptions.service import ChangeNotifications
from clinicflow.infra.error_responses import errors
from clinicflow.infra.web import provided
from clinicflow.shared.errors import InvalidRequest

MICROSOFT = "/v1/webhooks/microsoft"
ROUTES = frozenset({MICROSOFT})
BODY_LIMITS = {MICROSOFT: 1024 * 1024}  # notifications without resource data: a few KB each
# The validation request is text/plain; notifications are JSON.
CONTENT_TYPES = {MICROSOFT: frozenset({"application/json", "text/plain"})}

router = APIRouter(tags=["webhooks"])
NotificationsDep = Annotated[ChangeNotifications, Depends(provided(ChangeNotifications))]


@router.post(
    MICROSOFT,
    status_code=202,
    operation_id="receiveMicrosoftNotification",
    summary="Microsoft Graph: a practitioner's calendar changed (or a subscription's handshake)",
    responses=errors(NotificationRefused, NotificationsOff, InvalidRequest),
)
async def microsoft_notification(
    notifications: NotificationsDep,
    request: Request,
    validation_token: Annotated[str | None, Query(alias="validationToken")] = None,
) -> Response:
    if validation_token is not None:
        # Echo the (URL-decoded) token as plain text within 10 s, or Graph makes no
        # subscription.
        return PlainTextResponse(notifications.handshake(validation_token))
    await notifications.receive(await request.body())
    return Response(status_code=202)
