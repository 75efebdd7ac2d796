"""Routes for freed-slot offers: parse → use case → schema. The offer's token goes in the
query string (request logs drop query strings)."""

from __future__ import annotations

from fastapi import APIRouter

from clinicflow.catalog.api import CatalogDep
from clinicflow.infra.error_responses import documented
from clinicflow.infra.web import CurrentActor
from clinicflow.waitlist.conversions.api import BOOKING_REFUSALS, Token
from clinicflow.waitlist.conversions.schemas import ClaimOut
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.errors import LinkClosed, LinkNotFound
from clinicflow.waitlist.offers.schemas import OfferOut

router = APIRouter(tags=["waitlist"])


@router.get(
    "/v1/waitlist/offers",
    **documented(
        "getOffer", "A freed slot offered to someone on the waitlist", LinkNotFound, LinkClosed
    ),
)
async def offer(waitlist: WaitlistDep, catalog: CatalogDep, token: Token) -> OfferOut:
    return OfferOut.of(await waitlist.offers.view(token), catalog.clinic.tz)


@router.post(
    "/v1/waitlist/offers/claim",
    **documented(
        "claimOffer",
        "Book the offered slot",
        LinkNotFound,
        LinkClosed,
        also=BOOKING_REFUSALS,
        status_code=201,
    ),
)
async def claim_offer(
    waitlist: WaitlistDep, catalog: CatalogDep, actor: CurrentActor, token: Token
) -> ClaimOut:
    done = await waitlist.offers.claim(actor, token)
    return ClaimOut.of(done, catalog.clinic.tz)
