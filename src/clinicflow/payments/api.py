"""Payments routes: parse → use case → schema. Access is decided in the use cases."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import HTMLResponse

from clinicflow.catalog.api import CatalogDep
from clinicflow.infra.error_responses import SIGNED_IN, errors
from clinicflow.infra.request_input import Day
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.payments.domain.errors import (
    CreditNotReturnable,
    CreditUnavailable,
    InvalidRefundOverride,
    PromotionExpired,
    PromotionNotApplicable,
    PromotionNotStarted,
    PromotionPatientLimitReached,
    PromotionUsedUp,
    UnknownCredit,
    UnknownPriceItem,
    UnknownPromotionCode,
)
from clinicflow.payments.errors import (
    BookingAlreadyInOrder,
    BookingNotPayable,
    GatewayDown,
    GatewayFailed,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidCodes,
    MethodNotConfigured,
    PaymentDeclinedError,
    PaymentNotFound,
    PaymentStateConflict,
    RefundNotAllowed,
    UnpriceableOrder,
)
from clinicflow.payments.quoting import quote_json
from clinicflow.payments.receipt_pdf import render_pdf
from clinicflow.payments.receipts import render_html
from clinicflow.payments.schemas import (
    CheckoutIn,
    CheckoutOut,
    CodesIn,
    MethodIn,
    PaymentOut,
    QuoteIn,
    QuoteOut,
    RefundIn,
    RefundOut,
    RevenueOut,
    RevenueRowOut,
)
from clinicflow.payments.wiring import Payments
from clinicflow.shared.errors import Forbidden, InvalidRequest

router = APIRouter(prefix="/v1", tags=["payments"])
PDF = "application/pdf"
# What pricing an order can refuse, and what asking a payment gateway can meet.
PRICING = (
    UnknownPriceItem,
    UnknownPromotionCode,
    PromotionNotStarted,
    PromotionExpired,
    PromotionUsedUp,
    PromotionPatientLimitReached,
    PromotionNotApplicable,
    UnknownCredit,
)
GATEWAY = (MethodNotConfigured, PaymentDeclinedError, GatewayFailed, GatewayDown)

# As on POST /v1/bookings: the same key and body answer the first result (payments/idempotency.py).
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]
REPLAYED = "Idempotent-Replayed"


PaymentsDep = Annotated[Payments, Depends(provided(Payments))]


@router.post(
    "/quotes",
    operation_id="quotePrice",
    summary="Price visits and packages, with promotions and credits, before paying",
    responses=errors(Forbidden, *PRICING),
)
async def quote(payments: PaymentsDep, actor: CurrentActor, body: QuoteIn) -> QuoteOut:
    q = await payments.reads.quote(
        actor, body.lines(), body.promo_code, body.patient_id, body.use_credits
    )
    return QuoteOut(**quote_json(q))


@router.post(
    "/payments",
    status_code=201,
    operation_id="createPayment",
    summary="Check out: pay for visits or a package",
    responses=errors(
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
    ),
)
async def checkout(
    payments: PaymentsDep,
    response: Response,
    actor: CurrentActor,
    body: CheckoutIn,
    key: IdempotencyKey = None,
) -> CheckoutOut:
    made, replayed = await payments.checkout.create(actor, body.request(), key)
    if replayed:
        response.headers[REPLAYED] = "true"
    return CheckoutOut.of_checkout(made)


@router.get(
    "/payments/revenue",
    operation_id="getRevenue",
    summary="Revenue per day and service over a range of days",
    responses=errors(*SIGNED_IN),
)
async def revenue(
    payments: PaymentsDep,
    catalog: CatalogDep,
    actor: CurrentActor,
    from_: Annotated[Day, Query(alias="from")],
    to: Day,
) -> RevenueOut:
    tz = catalog.clinic.tz
    lo = datetime.combine(from_, time(), tz)
    hi = datetime.combine(to + timedelta(days=1), time(), tz)
    rows = await payments.reads.revenue(actor, lo, hi)
    net = sum(r.net_cents for r in rows)
    out = [RevenueRowOut.of(r) for r in rows]
    return RevenueOut(timezone=str(tz), from_=from_, to=to, rows=out, net_cents=net)


@router.get(
    "/payments/{payment_id}",
    operation_id="getPayment",
    summary="Read a payment",
    responses=errors(*SIGNED_IN, PaymentNotFound),
)
async def get_payment(payments: PaymentsDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await payments.reads.get(actor, payment_id))


@router.post(
    "/payments/{payment_id}/method",
    operation_id="choosePaymentMethod",
    summary="Pay a pending payment another way (e.g. at the desk)",
    responses=errors(*SIGNED_IN, PaymentNotFound, PaymentStateConflict, *GATEWAY),
)
async def pay_with(
    payments: PaymentsDep, actor: CurrentActor, payment_id: str, body: MethodIn
) -> CheckoutOut:
    desk = payments.desk
    made = await desk.pay_with(actor, payment_id, body.method, body.tender, body.fallback)
    return CheckoutOut.of_checkout(made)


@router.post(
    "/payments/{payment_id}/capture",
    operation_id="capturePayment",
    summary="Take the money of an authorized payment",
    responses=errors(*SIGNED_IN, PaymentNotFound, PaymentStateConflict, *GATEWAY),
)
async def capture(payments: PaymentsDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await payments.desk.capture(actor, payment_id))


@router.post(
    "/payments/{payment_id}/cancel",
    operation_id="cancelPayment",
    summary="Cancel a payment not yet taken",
    responses=errors(*SIGNED_IN, PaymentNotFound, PaymentStateConflict, GatewayDown),
)
async def cancel(payments: PaymentsDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await payments.desk.cancel(actor, payment_id))


@router.post(
    "/payments/{payment_id}/sync",
    operation_id="syncPayment",
    summary="Ask the payment gateway for a payment's current state",
    responses=errors(*SIGNED_IN, PaymentNotFound, GatewayDown),
)
async def sync(payments: PaymentsDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await payments.desk.sync(actor, payment_id))


@router.post(
    "/payments/{payment_id}/refunds",
    status_code=201,
    operation_id="refundPayment",
    summary="Refund a payment, or one visit of it, by the cancellation policy",
    responses=errors(
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
    ),
)
async def refund(
    payments: PaymentsDep,
    response: Response,
    actor: CurrentActor,
    payment_id: str,
    body: RefundIn,
    key: IdempotencyKey = None,
) -> RefundOut:
    refunds = payments.refunds
    made, replayed = await refunds.refund(actor, payment_id, body.request(), key)
    if replayed:
        response.headers[REPLAYED] = "true"
    return RefundOut.of(made)


@router.get(
    "/payments/{payment_id}/receipt",
    response_class=HTMLResponse,
    operation_id="getReceipt",
    summary="A paid payment's receipt, as HTML or PDF",
    responses={
        200: {"content": {"text/html": {}, PDF: {}}},
        **errors(*SIGNED_IN, PaymentNotFound, PaymentStateConflict),
    },
)
async def receipt(
    payments: PaymentsDep,
    actor: CurrentActor,
    payment_id: str,
    format: Literal["html", "pdf"] | None = None,
    accept: Annotated[str, Header()] = "",
) -> Response:
    made = await payments.reads.receipt(actor, payment_id)
    if format == "pdf" or (format is None and PDF in accept):
        headers = {"Content-Disposition": f'inline; filename="receipt-{payment_id}.pdf"'}
        return Response(render_pdf(made), media_type=PDF, headers=headers)
    return HTMLResponse(render_html(made))


@router.patch(
    "/payments/{payment_id}/codes",
    operation_id="setBillingCodes",
    summary="Set the billing codes (CPT, ICD-10) of a payment's visits",
    responses=errors(*SIGNED_IN, PaymentNotFound, InvalidCodes),
)
async def codes(
    payments: PaymentsDep, actor: CurrentActor, payment_id: str, body: CodesIn
) -> PaymentOut:
    view = await payments.reads.set_codes(actor, payment_id, body.codes())
    return PaymentOut.of(view)
