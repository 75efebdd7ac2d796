"""The checkout route: an order for visits and/or a package, and its payment started."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.payments.checkout.schemas import CheckoutIn, CheckoutOut
from clinicflow.payments.checkout.service import CheckoutService
from clinicflow.payments.domain.errors import CreditUnavailable
from clinicflow.payments.errors import (
    GATEWAY,
    PRICING,
    BookingAlreadyInOrder,
    BookingNotPayable,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    UnpriceableOrder,
)
from clinicflow.payments.schemas import REPLAYED, IdempotencyKey
from clinicflow.shared.errors import InvalidRequest

router = APIRouter(prefix="/v1", tags=["payments"])
CheckoutDep = Annotated[CheckoutService, Depends(provided(CheckoutService))]


@router.post(
    "/payments",
    **documented(
        "createPayment",
        "Check out: pay for visits or a package",
        *SIGNED_IN,
        *PRICING,
        *GATEWAY,
        InvalidRequest,
        UnpriceableOrder,
        BookingNotPayable,
        BookingAlreadyInOrder,
        CreditUnavailable,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
        status_code=201,
    ),
)
async def checkout(
    checkout: CheckoutDep,
    response: Response,
    actor: CurrentActor,
    body: CheckoutIn,
    key: IdempotencyKey = None,
) -> CheckoutOut:
    made, replayed = await checkout.create(actor, body.request(), key)
    if replayed:
        response.headers[REPLAYED] = "true"
    return CheckoutOut.of_checkout(made)
