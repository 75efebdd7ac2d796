"""Routes on an order once placed: parse → use case → schema. Access is decided in the use
cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.payments.checkout.schemas import CheckoutOut
from clinicflow.payments.errors import (
    GATEWAY,
    GatewayDown,
    InvalidCodes,
    PaymentNotFound,
    PaymentStateConflict,
)
from clinicflow.payments.orders.schemas import CodesIn, MethodIn, PaymentOut
from clinicflow.payments.orders.service import OrderService

router = APIRouter(prefix="/v1", tags=["payments"])
OrdersDep = Annotated[OrderService, Depends(provided(OrderService))]
# What any route on a placed payment may answer, and one that changes its state.
ON_PAYMENT = (*SIGNED_IN, PaymentNotFound)
CHANGING = (*ON_PAYMENT, PaymentStateConflict)


@router.get(
    "/payments/{payment_id}",
    **documented("getPayment", "Read a payment", *ON_PAYMENT),
)
async def get_payment(orders: OrdersDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await orders.get(actor, payment_id))


@router.post(
    "/payments/{payment_id}/method",
    **documented(
        "choosePaymentMethod",
        "Pay a pending payment another way (e.g. at the desk)",
        *CHANGING,
        *GATEWAY,
    ),
)
async def pay_with(
    orders: OrdersDep, actor: CurrentActor, payment_id: str, body: MethodIn
) -> CheckoutOut:
    made = await orders.pay_with(actor, payment_id, body.method, body.tender, body.fallback)
    return CheckoutOut.of_checkout(made)


@router.post(
    "/payments/{payment_id}/capture",
    **documented("capturePayment", "Take the money of an authorized payment", *CHANGING, *GATEWAY),
)
async def capture(orders: OrdersDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await orders.capture(actor, payment_id))


@router.post(
    "/payments/{payment_id}/cancel",
    **documented("cancelPayment", "Cancel a payment not yet taken", *CHANGING, GatewayDown),
)
async def cancel(orders: OrdersDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await orders.cancel(actor, payment_id))


@router.post(
    "/payments/{payment_id}/sync",
    **documented(
        "syncPayment",
        "Ask the payment gateway for a payment's current state",
        *ON_PAYMENT,
        GatewayDown,
    ),
)
async def sync(orders: OrdersDep, actor: CurrentActor, payment_id: str) -> PaymentOut:
    return PaymentOut.of(await orders.sync(actor, payment_id))


@router.patch(
    "/payments/{payment_id}/codes",
    **documented(
        "setBillingCodes",
        "Set the billing codes (CPT, ICD-10) of a payment's visits",
        *ON_PAYMENT,
        InvalidCodes,
    ),
)
async def codes(
    orders: OrdersDep, actor: CurrentActor, payment_id: str, body: CodesIn
) -> PaymentOut:
    return PaymentOut.of(await orders.set_codes(actor, payment_id, body.codes()))
