"""Routes for launching a service and for its invitations: parse → use case → schema. An
invitation's token goes in the query string (request logs drop query strings)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import AwareDatetime

from clinicflow.catalog.api import CatalogDep
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor
from clinicflow.waitlist.conversions.api import BOOKING_REFUSALS, Token
from clinicflow.waitlist.conversions.schemas import ClaimIn, ClaimOut
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.errors import (
    AlreadyLive,
    InvalidEntry,
    LinkClosed,
    LinkNotFound,
    ServiceNotReady,
)
from clinicflow.waitlist.launches.schemas import InvitationOut, LaunchOut

router = APIRouter(tags=["waitlist"])


@router.post(
    "/v1/services/{key}/launch",
    **documented(
        "launchService",
        "Open a waitlisted service for booking and invite its waitlist",
        *SIGNED_IN,
        InvalidEntry,
        ServiceNotReady,
        AlreadyLive,
        status_code=201,
    ),
)
async def launch(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, key: str
) -> LaunchOut:
    return LaunchOut.of(await waitlist.launches.launch(actor, key), catalog.clinic.tz)


@router.get(
    "/v1/waitlist/invitations",
    **documented(
        "getInvitation",
        "A launch invitation and the slots it may book",
        LinkNotFound,
        LinkClosed,
        InvalidEntry,
    ),
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
    **documented(
        "claimInvitation",
        "Book a visit with a launch invitation",
        LinkNotFound,
        LinkClosed,
        InvalidEntry,
        also=BOOKING_REFUSALS,
        status_code=201,
    ),
)
async def claim_invitation(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, token: Token, body: ClaimIn
) -> ClaimOut:
    done = await waitlist.invitations.claim(actor, token, body.ask())
    return ClaimOut.of(done, catalog.clinic.tz)
