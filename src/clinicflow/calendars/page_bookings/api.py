"""Calendly's routes: its webhook (signed by Calendly, no credentials of ours: gateway/auth.py
lets `WEBHOOK` through) and the front desk's list of page bookings flagged on import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from clinicflow.calendars.page_bookings.errors import CalendlyBodyTooLarge, CalendlyWebhookRefused
from clinicflow.calendars.page_bookings.schemas import (
    CalendlyFlagOut,
    CalendlyFlagsOut,
    CalendlyWebhookOut,
)
from clinicflow.calendars.page_bookings.service import CalendlyImports
from clinicflow.infra.error_responses import SIGNED_IN, errors
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.infra.webhook_body import raw_body
from clinicflow.shared.errors import InvalidRequest

WEBHOOK = "/v1/webhooks/calendly"
FLAGS = "/v1/calendars/calendly/flags"
ROUTES = frozenset({WEBHOOK})
_LIMIT = 256 * 1024  # an invitee event is a few KB; anyone can post here

router = APIRouter(tags=["calendars"])
ImportsDep = Annotated[CalendlyImports, Depends(provided(CalendlyImports))]


@router.post(
    WEBHOOK,
    operation_id="receiveCalendlyEvent",
    summary="A booking made or cancelled on a Calendly page (signed by Calendly)",
    responses=errors(CalendlyWebhookRefused, CalendlyBodyTooLarge, InvalidRequest),
)
async def calendly_webhook(imports: ImportsDep, request: Request) -> CalendlyWebhookOut:
    body = await raw_body(request, _LIMIT, CalendlyBodyTooLarge)
    outcome = await imports.receive(request.headers, body)
    return CalendlyWebhookOut(outcome=outcome)


@router.get(
    FLAGS,
    operation_id="listCalendlyFlags",
    summary="Calendly page bookings that could not be imported, for the front desk",
    responses=errors(*SIGNED_IN),
)
async def calendly_flags(
    imports: ImportsDep, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> CalendlyFlagsOut:
    found = await imports.flags(actor, limit)
    flags = [CalendlyFlagOut.model_validate(d, from_attributes=True) for d in found]
    return CalendlyFlagsOut(flags=flags)
