"""Routes for launches, invitations, offers, conversion and tracking links: parse → use case
→ schema. Private links carry their token in the query string (request logs drop query
strings); the nurture tracking link is a path, since it only records a click."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from clinicflow.catalog.deps import CatalogDep
from clinicflow.infra.web import CurrentActor
from clinicflow.waitlist.api import WaitlistDep
from clinicflow.waitlist.schemas_links import (
    BookingOut,
    ClaimIn,
    ClaimOut,
    ClickOut,
    ConvertOut,
    InvitationOut,
    LaunchOut,
    OfferOut,
)
from clinicflow.waitlist.schemas_out import entry_out

router = APIRouter(tags=["waitlist"])
Token = Annotated[str, Query(min_length=1, max_length=128, description="the link's token")]


@router.post("/v1/services/{key}/launch", status_code=201)
async def launch(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, key: str
) -> LaunchOut:
    return LaunchOut.of(await waitlist.launcher.launch(actor, key), catalog.clinic.tz)


@router.get("/v1/waitlist/invitations")
async def invitation(
    waitlist: WaitlistDep,
    catalog: CatalogDep,
    token: Token,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> InvitationOut:
    view = await waitlist.invitations.view(token, start, end)
    return InvitationOut.of(view, catalog.clinic.tz)


@router.post("/v1/waitlist/invitations/claim", status_code=201)
async def claim_invitation(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, token: Token, body: ClaimIn
) -> ClaimOut:
    done = await waitlist.invitations.claim(actor, token, body.ask())
    return ClaimOut.of(done, catalog.clinic.tz)


@router.get("/v1/waitlist/offers")
async def offer(waitlist: WaitlistDep, catalog: CatalogDep, token: Token) -> OfferOut:
    return OfferOut.of(await waitlist.offers.view(token), catalog.clinic.tz)


@router.post("/v1/waitlist/offers/claim", status_code=201)
async def claim_offer(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, token: Token
) -> ClaimOut:
    done = await waitlist.offers.claim(actor, token)
    return ClaimOut.of(done, catalog.clinic.tz)


@router.post("/v1/waitlist/{entry_id}/convert", status_code=201)
async def convert(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, entry_id: str, body: ClaimIn
) -> ConvertOut:
    view, booked = await waitlist.conversions.convert(actor, entry_id, body.ask())
    return ConvertOut(entry=entry_out(view), booking=BookingOut.of(booked, catalog.clinic.tz))


@router.get("/v1/waitlist/t/{token}")
async def tracked(waitlist: WaitlistDep, token: str) -> ClickOut:
    return ClickOut.of(await waitlist.nurture.click(token))
