"""The quote route: anyone may price visits and packages before paying."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from clinicflow.infra.error_responses import documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.payments.domain.quotes import quote_json
from clinicflow.payments.errors import PRICING
from clinicflow.payments.quotes.schemas import QuoteIn, QuoteOut
from clinicflow.payments.quotes.service import QuoteService
from clinicflow.shared.errors import Forbidden

router = APIRouter(prefix="/v1", tags=["payments"])
QuotesDep = Annotated[QuoteService, Depends(provided(QuoteService))]


@router.post(
    "/quotes",
    **documented(
        "quotePrice",
        "Price visits and packages, with promotions and credits, before paying",
        Forbidden,
        *PRICING,
    ),
)
async def quote(quotes: QuotesDep, actor: CurrentActor, body: QuoteIn) -> QuoteOut:
    q = await quotes.quote(actor, body.lines(), body.promo_code, body.patient_id, body.use_credits)
    return QuoteOut.model_validate(quote_json(q))
