"""Payments routes: parse → use case → schema. Access is decided in the use cases."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import HTMLResponse

from clinicflow.catalog import Catalog
from clinicflow.infra.request_input import Day
from clinicflow.infra.web import CurrentActor, part
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

router = APIRouter(prefix="/v1", tags=["payments"])
PDF = "application/pdf"
# As on POST /v1/bookings: the same key and body answer the first result (payments/idempotency.py).
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]
REPLAYED = "Idempotent-Replayed"


def _payments(request: Request) -> Payments:
    return cast(Payments, part(request, "payments"))


@router.post("/quotes")
async def quote(request: Request, actor: CurrentActor, body: QuoteIn) -> QuoteOut:
    q = await _payments(request).reads.quote(
        actor, body.lines(), body.promo_code, body.patient_id, body.use_credits
    )
    return QuoteOut(**quote_json(q))


@router.post("/payments", status_code=201)
async def checkout(
    request: Request,
    response: Response,
    actor: CurrentActor,
    body: CheckoutIn,
    key: IdempotencyKey = None,
) -> CheckoutOut:
    made, replayed = await _payments(request).checkout.create(actor, body.request(), key)
    if replayed:
        response.headers[REPLAYED] = "true"
    return CheckoutOut.of_checkout(made)


@router.get("/payments/revenue")
async def revenue(
    request: Request,
    actor: CurrentActor,
    from_: Annotated[Day, Query(alias="from")],
    to: Day,
) -> RevenueOut:
    tz = cast(Catalog, part(request, "catalog")).clinic.tz
    lo = datetime.combine(from_, time(), tz)
    hi = datetime.combine(to + timedelta(days=1), time(), tz)
    rows = await _payments(request).reads.revenue(actor, lo, hi)
    net = sum(r.net_cents for r in rows)
    out = [RevenueRowOut.of(r) for r in rows]
    return RevenueOut(timezone=str(tz), from_=from_, to=to, rows=out, net_cents=net)


@router.get("/payments/{payment_id}")
async def get_payment(request: Request, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await _payments(request).reads.get(actor, payment_id))


@router.post("/payments/{payment_id}/method")
async def pay_with(
    request: Request, actor: CurrentActor, payment_id: str, body: MethodIn
) -> CheckoutOut:
    desk = _payments(request).desk
    made = await desk.pay_with(actor, payment_id, body.method, body.tender, body.fallback)
    return CheckoutOut.of_checkout(made)


@router.post("/payments/{payment_id}/capture")
async def capture(request: Request, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await _payments(request).desk.capture(actor, payment_id))


@router.post("/payments/{payment_id}/cancel")
async def cancel(request: Request, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await _payments(request).desk.cancel(actor, payment_id))


@router.post("/payments/{payment_id}/sync")
async def sync(request: Request, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await _payments(request).desk.sync(actor, payment_id))


@router.post("/payments/{payment_id}/refunds", status_code=201)
async def refund(
    request: Request,
    response: Response,
    actor: CurrentActor,
    payment_id: str,
    body: RefundIn,
    key: IdempotencyKey = None,
) -> RefundOut:
    refunds = _payments(request).refunds
    made, replayed = await refunds.refund(actor, payment_id, body.request(), key)
    if replayed:
        response.headers[REPLAYED] = "true"
    return RefundOut.of(made)


@router.get(
    "/payments/{payment_id}/receipt",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}, PDF: {}}}},
)
async def receipt(
    request: Request,
    actor: CurrentActor,
    payment_id: str,
    format: Literal["html", "pdf"] | None = None,
    accept: Annotated[str, Header()] = "",
) -> Response:
    made = await _payments(request).reads.receipt(actor, payment_id)
    if format == "pdf" or (format is None and PDF in accept):
        headers = {"Content-Disposition": f'inline; filename="receipt-{payment_id}.pdf"'}
        return Response(render_pdf(made), media_type=PDF, headers=headers)
    return HTMLResponse(render_html(made))


@router.patch("/payments/{payment_id}/codes")
async def codes(
    request: Request, actor: CurrentActor, payment_id: str, body: CodesIn
) -> PaymentOut:
    view = await _payments(request).reads.set_codes(actor, payment_id, body.codes())
    return PaymentOut.of(view)
