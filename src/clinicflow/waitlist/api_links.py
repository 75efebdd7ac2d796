"""Routes for launches, invitations, offers, conversion and tracking links: parse → use case
→ schema. Private links carry their token in the query string (request logs drop query
strings); the nurture tracking link is a path, since it only records a click."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from clinicflow.infra.web import CurrentActor, part
from clinicflow.waitlist.schemas_links import (
    WaitlistBookingOut,
    ClaimIn,
    ClaimOut,
    ClickOut,
    ConvertOut,
    InvitationOut,
    LaunchOut,
    OfferOut,
)
from clinicflow.waitlist.schemas_out import entry_out
from clinicflow.waitlist.wiring import Waitlist

router = APIRouter(tags=["waitlist"])
Token = Annotated[str, Query(min_length=1, max_length=128, description="the link's token")]


def _waitlist(request: Request) -> Waitlist:
    return cast(Waitlist, part(request, "waitlist"))


def _tz(request: Request) -> Any:
    return part(request, "catalog").clinic.tz


@router.post("/v1/services/{key}/launch", status_code=201)
async def launch(request: Request, actor: CurrentActor, key: str) -> LaunchOut:
    return LaunchOut.of(await _waitlist(request).launcher.launch(actor, key), _tz(request))


@router.get("/v1/waitlist/invitations")
async def invitation(
    request: Request, token: Token, start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> InvitationOut:  # fmt: skip
    view = await _waitlist(request).invitations.view(token, start, end)
    return InvitationOut.of(view, _tz(request))


@router.post("/v1/waitlist/invitations/claim", status_code=201)
async def claim_invitation(
    request: Request, actor: CurrentActor, token: Token, body: ClaimIn
) -> ClaimOut:
    done = await _waitlist(request).invitations.claim(actor, token, body.ask())
    return ClaimOut.of(done, _tz(request))


@router.get("/v1/waitlist/offers")
async def offer(request: Request, token: Token) -> OfferOut:
    return OfferOut.of(await _waitlist(request).offers.view(token), _tz(request))


@router.post("/v1/waitlist/offers/claim", status_code=201)
async def claim_offer(request: Request, actor: CurrentActor, token: Token) -> ClaimOut:
    done = await _waitlist(request).offers.claim(actor, token)
    return ClaimOut.of(done, _tz(request))


@router.post("/v1/waitlist/{entry_id}/convert", status_code=201)
async def convert(
    request: Request, actor: CurrentActor, entry_id: str, body: ClaimIn
) -> ConvertOut:
    view, booked = await _waitlist(request).conversions.convert(actor, entry_id, body.ask())
    return ConvertOut(entry=entry_out(view), booking=WaitlistBookingOut.of(booked, _tz(request)))


@router.get("/v1/waitlist/t/{token}")
async def tracked(request: Request, token: str) -> ClickOut:
    return ClickOut.of(await _waitlist(request).nurture.click(token))
