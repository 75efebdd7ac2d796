"""Routes for freed-slot offers: parse → use case → schema. The offer's token goes in the
query string (request logs drop query strings)."""

from __future__ import annotations

from fastapi import APIRouter

from clinicflow.catalog.api import CatalogDep
from clinicflow.infra.error_responses import errors
from clinicflow.infra.web import CurrentActor
from clinicflow.waitlist.conversions.api import BOOKING_REFUSALS, Token
from clinicflow.waitlist.conversions.schemas import ClaimOut
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.errors import LinkClosed, LinkNotFound
from clinicflow.waitlist.offers.schemas import OfferOut

router = APIRouter(tags=["waitlist"])


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
