"""Gateway webhook routes. They carry no credentials of ours (gateway/auth.py lets
`ROUTES` through); the gateway adapter verifies each delivery's signature (Stripe-Signature
with its tolerance; PayPal through verify-webhook-signature) before anything is read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from clinicflow.infra.error_responses import documented
from clinicflow.infra.web import provided
from clinicflow.infra.webhook_body import raw_body
from clinicflow.payments.errors import GatewayDown, PayloadTooLarge, WebhookRejected
from clinicflow.payments.gateway_events.schemas import WebhookOut
from clinicflow.payments.gateway_events.service import WebhookProcessor

STRIPE = "/v1/webhooks/stripe"
PAYPAL = "/v1/webhooks/paypal"
ROUTES = frozenset({STRIPE, PAYPAL})
_LIMIT = 1024 * 1024  # Stripe and PayPal events are a few KB

router = APIRouter(tags=["webhooks"])
WebhooksDep = Annotated[WebhookProcessor, Depends(provided(WebhookProcessor))]

SIGNED_BY_GATEWAY = (WebhookRejected, PayloadTooLarge, GatewayDown)


@router.post(
    STRIPE,
    **documented(
        "receiveStripeEvent",
        "A Stripe event about a payment (signed by Stripe)",
        *SIGNED_BY_GATEWAY,
    ),
)
async def stripe_webhook(webhooks: WebhooksDep, request: Request) -> WebhookOut:
    return await _receive(webhooks, request, "stripe")


@router.post(
    PAYPAL,
    **documented(
        "receivePaypalEvent",
        "A PayPal event about a payment (verified with PayPal)",
        *SIGNED_BY_GATEWAY,
    ),
)
async def paypal_webhook(webhooks: WebhooksDep, request: Request) -> WebhookOut:
    return await _receive(webhooks, request, "paypal")


async def _receive(webhooks: WebhookProcessor, request: Request, method: str) -> WebhookOut:
    body = await raw_body(request, _LIMIT, PayloadTooLarge)
    outcome = await webhooks.receive(method, request.headers, body)
    return WebhookOut(outcome=outcome)
