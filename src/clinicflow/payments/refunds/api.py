"""The refund route: staff refund a visit by the policy, with an override, or a whole order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.payments.domain.errors import CreditNotReturnable, InvalidRefundOverride
from clinicflow.payments.errors import (
    GatewayDown,
    GatewayFailed,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PaymentNotFound,
    RefundNotAllowed,
)
from clinicflow.payments.refunds.schemas import RefundIn, RefundOut
from clinicflow.payments.refunds.service import RefundService
from clinicflow.payments.schemas import REPLAYED, IdempotencyKey
from clinicflow.shared.errors import InvalidRequest
from clinicflow.shared.records import from_attributes

router = APIRouter(prefix="/v1", tags=["payments"])
RefundsDep = Annotated[RefundService, Depends(provided(RefundService))]


@router.post(
    "/payments/{payment_id}/refunds",
    **documented(
        "refundPayment",
        "Refund a payment, or one visit of it, by the cancellation policy",
        *SIGNED_IN,
        PaymentNotFound,
        InvalidRequest,
        InvalidRefundOverride,
        RefundNotAllowed,
        CreditNotReturnable,
        GatewayFailed,
        GatewayDown,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
        status_code=201,
    ),
)
async def refund(
    refunds: RefundsDep,
    response: Response,
    actor: CurrentActor,
    payment_id: str,
    body: RefundIn,
    key: IdempotencyKey = None,
) -> RefundOut:
    made, replayed = await refunds.refund(actor, payment_id, body.request(), key)
    if replayed:
        response.headers[REPLAYED] = "true"
    return from_attributes(RefundOut, made)
