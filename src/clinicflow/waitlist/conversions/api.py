"""A staff conversion's route: parse → use case → schema; and what every route that books
through booking answers when booking refuses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from clinicflow.catalog.api import CatalogDep
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor
from clinicflow.waitlist.conversions.schemas import ClaimIn, ConvertOut, WaitlistBookingOut
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.entries.schemas import entry_out
from clinicflow.waitlist.errors import EntryClosed, EntryNotFound, InvalidEntry, LinkClosed

router = APIRouter(tags=["waitlist"])
# The visit is booked by the booking context, whose refusals pass through unchanged.
BOOKING_REFUSALS = {
    409: "Booking refused (booking's `slot_unavailable`, `patient_unavailable`)",
    422: "Booking refused (booking's slot rules: `outside_working_hours`, `too_little_notice`, "
    "`too_far_ahead`, `duration_not_allowed`, ...)",
}
Token = Annotated[str, Query(min_length=1, max_length=128, description="the link's token")]


@router.post(
    "/v1/waitlist/{entry_id}/convert",
    **documented(
        "convertWaitlistEntry",
        "Book a visit for a waitlist entry (staff)",
        *SIGNED_IN,
        EntryNotFound,
        EntryClosed,
        LinkClosed,
        InvalidEntry,
        also=BOOKING_REFUSALS,
        status_code=201,
    ),
)
async def convert(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, entry_id: str, body: ClaimIn
) -> ConvertOut:
    view, booked = await waitlist.conversions.convert(actor, entry_id, body.ask())
    return ConvertOut(
        entry=entry_out(view), booking=WaitlistBookingOut.of(booked, catalog.clinic.tz)
    )
