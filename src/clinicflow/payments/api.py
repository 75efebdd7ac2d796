"""Payments routes: parse → use case → schema. Access is decided in the use cases."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import HTMLResponse

from clinicflow.catalog.deps import CatalogDep
from clinicflow.infra.request_input import Day
from clinicflow.infra.web import CurrentActor, provided
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
PaymentsDep = Annotated[Payments, Depends(provided(Payments))]


@router.post("/quotes")
async def quote(payments: PaymentsDep, actor: CurrentActor, body: QuoteIn) -> QuoteOut:
    q = await payments.reads.quote(
        actor, body.lines(), body.promo_code, body.patient_id, body.use_credits
    )
    return QuoteOut(**quote_json(q))


@router.post("/payments", status_code=201)
async def checkout(payments: PaymentsDep, actor: CurrentActor, body: CheckoutIn) -> CheckoutOut:
    made = await payments.checkout.create(actor, body.request())
    return CheckoutOut.of_checkout(made)


@router.get("/payments/revenue")
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


@router.get("/payments/{payment_id}")
async def get_payment(payments: PaymentsDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await payments.reads.get(actor, payment_id))


@router.post("/payments/{payment_id}/method")
async def pay_with(
    payments: PaymentsDep, actor: CurrentActor, payment_id: str, body: MethodIn
) -> CheckoutOut:
    desk = payments.desk
    made = await desk.pay_with(actor, payment_id, body.method, body.tender, body.fallback)
    return CheckoutOut.of_checkout(made)


@router.post("/payments/{payment_id}/capture")
async def capture(payments: PaymentsDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await payments.desk.capture(actor, payment_id))


@router.post("/payments/{payment_id}/cancel")
async def cancel(payments: PaymentsDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await payments.desk.cancel(actor, payment_id))


@router.post("/payments/{payment_id}/sync")
async def sync(payments: PaymentsDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await payments.desk.sync(actor, payment_id))


@router.post("/payments/{payment_id}/refunds", status_code=201)
async def refund(
    payments: PaymentsDep, actor: CurrentActor, payment_id: str, body: RefundIn
) -> RefundOut:
    made = await payments.refunds.refund(actor, payment_id, body.request())
    return RefundOut.of(made)


@router.get(
    "/payments/{payment_id}/receipt",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}, PDF: {}}}},
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


@router.patch("/payments/{payment_id}/codes")
async def codes(
    payments: PaymentsDep, actor: CurrentActor, payment_id: str, body: CodesIn
) -> PaymentOut:
    view = await payments.reads.set_codes(actor, payment_id, body.codes())
    return PaymentOut.of(view)
