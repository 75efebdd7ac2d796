"""Routes for launches, invitations, offers, conversion and tracking links: parse → use case
→ schema. Private links carry their token in the query string (request logs drop query
strings); the nurture tracking link is a path, since it only records a click."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from clinicflow.catalog.api import CatalogDep
from clinicflow.infra.error_responses import SIGNED_IN, errors
from clinicflow.infra.web import CurrentActor
from clinicflow.waitlist.api import WaitlistDep
from clinicflow.waitlist.errors import (
    AlreadyLive,
    EntryClosed,
    EntryNotFound,
    InvalidEntry,
    LinkClosed,
    LinkNotFound,
    ServiceNotReady,
)
from clinicflow.waitlist.schemas_links import (
    ClaimIn,
    ClaimOut,
    ClickOut,
    ConvertOut,
    InvitationOut,
    LaunchOut,
    OfferOut,
    WaitlistBookingOut,
)
from clinicflow.waitlist.schemas_out import entry_out

router = APIRouter(tags=["waitlist"])
# The visit is booked by the booking context, whose refusals pass through unchanged.
BOOKING_REFUSALS = {
    409: "Booking refused (booking's `slot_unavailable`, `patient_unavailable`)",
    422: "Booking refused (booking's slot rules: `outside_working_hours`, `too_little_notice`, "
    "`too_far_ahead`, `duration_not_allowed`, ...)",
}
Token = Annotated[str, Query(min_length=1, max_length=128, description="the link's token")]


@router.post(
    "/v1/services/{key}/launch",
    status_code=201,
    operation_id="launchService",
    summary="Open a waitlisted service for booking and invite its waitlist",
    responses=errors(*SIGNED_IN, InvalidEntry, ServiceNotReady, AlreadyLive),
)
async def launch(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, key: str
) -> LaunchOut:
    return LaunchOut.of(await waitlist.launcher.launch(actor, key), catalog.clinic.tz)


@router.get(
    "/v1/waitlist/invitations",
    operation_id="getInvitation",
    summary="A launch invitation and the slots it may book",
    responses=errors(LinkNotFound, LinkClosed, InvalidEntry),
)
async def invitation(
    waitlist: WaitlistDep,
    catalog: CatalogDep,
    token: Token,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> InvitationOut:
    view = await waitlist.invitations.view(token, start, end)
    return InvitationOut.of(view, catalog.clinic.tz)


@router.post(
    "/v1/waitlist/invitations/claim",
    status_code=201,
    operation_id="claimInvitation",
    summary="Book a visit with a launch invitation",
    responses=errors(LinkNotFound, LinkClosed, InvalidEntry, also=BOOKING_REFUSALS),
)
async def claim_invitation(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, token: Token, body: ClaimIn
) -> ClaimOut:
    done = await waitlist.invitations.claim(actor, token, body.ask())
    return ClaimOut.of(done, catalog.clinic.tz)


@router.get(
    "/v1/waitlist/offers",
    operation_id="getOffer",
    summary="A freed slot offered to someone on the waitlist",
    responses=errors(LinkNotFound, LinkClosed),
)
async def offer(waitlist: WaitlistDep, catalog: CatalogDep, token: Token) -> OfferOut:
    return OfferOut.of(await waitlist.offers.view(token), catalog.clinic.tz)


@router.post(
    "/v1/waitlist/offers/claim",
    status_code=201,
    operation_id="claimOffer",
    summary="Book the offered slot",
    responses=errors(LinkNotFound, LinkClosed, also=BOOKING_REFUSALS),
)
async def claim_offer(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, token: Token
) -> ClaimOut:
    done = await waitlist.offers.claim(actor, token)
    return ClaimOut.of(done, catalog.clinic.tz)


@router.post(
    "/v1/waitlist/{entry_id}/convert",
    status_code=201,
    operation_id="convertWaitlistEntry",
    summary="Book a visit for a waitlist entry (staff)",
    responses=errors(
        *SIGNED_IN, EntryNotFound, EntryClosed, LinkClosed, InvalidEntry, also=BOOKING_REFUSALS
    ),
)
async def convert(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, entry_id: str, body: ClaimIn
) -> ConvertOut:
    view, booked = await waitlist.conversions.convert(actor, entry_id, body.ask())
    return ConvertOut(
        entry=entry_out(view), booking=WaitlistBookingOut.of(booked, catalog.clinic.tz)
    )


@router.get(
    "/v1/waitlist/t/{token}",
    operation_id="followTrackedLink",
    summary="Record a click on a link in a waitlist message",
    responses=errors(LinkNotFound),
)
async def tracked(waitlist: WaitlistDep, token: str) -> ClickOut:
    return ClickOut.of(await waitlist.nurture.click(token))
