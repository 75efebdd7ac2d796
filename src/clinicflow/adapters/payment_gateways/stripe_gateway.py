"""Stripe PaymentIntents through the official SDK's async API, on the injected httpx client.

Flow: `create_payment` makes a PaymentIntent (automatic payment methods, automatic capture)
and returns its client secret for Stripe.js; the buyer confirms in the browser; the
payment_intent.succeeded webhook (or `retrieve`) says it went through.

HSA/FSA cards need no API parameter: they are card payments. Stripe must enable them on the
account (contact Stripe Support), which takes a healthcare merchant category code (MCC),
either a pre-approved medical one or an attestation that over 90 % of volume is
HSA/FSA-eligible; issuers may still decline (reference/integrations.md §3.7).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from datetime import datetime
from typing import Any

import httpx
import stripe
from stripe import PaymentIntent, StripeClient

from clinicflow.adapters.payment_gateways._common import check_amount, check_currency, header
from clinicflow.adapters.payment_gateways._stripe_http import InjectedHttpxClient
from clinicflow.adapters.payment_gateways._stripe_mapping import (
    PROVIDER,
    call,
    payment,
    record,
)
from clinicflow.adapters.payment_gateways._stripe_mapping import refund as refund_of
from clinicflow.adapters.payment_gateways.stripe_webhooks import (
    DEFAULT_TOLERANCE,
    parse_stripe_event,
    verify_stripe_signature,
)
from clinicflow.payments.ports import (
    GatewayEvent,
    GatewayPayment,
    GatewayRecord,
    GatewayRefund,
    GatewayRefundRequest,
    GatewayRejected,
    PaymentRequest,
)
from clinicflow.shared.clock import Clock

_PAGE = 100  # Stripe's largest list page


class StripeGateway:
    provider = PROVIDER

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: str,
        webhook_secret: str,
        clock: Clock,
        *,
        base_url: str = "https://api.stripe.com",
        webhook_tolerance: int = DEFAULT_TOLERANCE,
    ) -> None:
        # Otherwise the SDK writes ~/.config/stripe/telemetry_id and reports host details.
        stripe.enable_telemetry = False
        self._base_url = base_url
        self._client = StripeClient(
            api_key,
            base_addresses={"api": base_url},
            max_network_retries=0,
            http_client=InjectedHttpxClient(http),
        )
        self._webhook_secret = webhook_secret
        self._clock = clock
        self._tolerance = webhook_tolerance

    def __repr__(self) -> str:
        # Keeps the secret key and webhook secret out of logs and tracebacks.
        return f"StripeGateway(base_url={self._base_url!r})"

    async def create_payment(
        self,
        request: PaymentRequest,
        *,
        payment_method: str | None = None,
        customer: str | None = None,
    ) -> GatewayPayment:
        """Without `payment_method` the buyer pays in the browser with the client secret.
        With it (a card on file, `pm_…`, with its `customer`), the intent is confirmed at
        once: a decline raises `PaymentDeclined`, and 3-D Secure leaves it requires_action."""
        check_amount(request.amount_cents)
        params: dict[str, Any] = {
            "amount": request.amount_cents,
            "currency": check_currency(request.currency).lower(),
            "description": request.description,
            "metadata": {**(request.metadata or {}), "order_id": request.order_id},
        }
        if payment_method is None:
            params["automatic_payment_methods"] = {"enabled": True}
        else:
            params |= {"payment_method": payment_method, "payment_method_types": ["card"]}
            params |= {"confirm": True, **({"customer": customer} if customer else {})}
        intent = await call(
            lambda: self._client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]  # a plain dict of the TypedDict's keys
                {"idempotency_key": request.idempotency_key},
            )
        )
        return payment(intent)

    async def capture(self, provider_id: str, idempotency_key: str) -> GatewayPayment:
        # Intents are created with automatic capture: nothing to take, only to report.
        return await self.retrieve(provider_id)

    async def retrieve(self, provider_id: str) -> GatewayPayment:
        intent = await call(lambda: self._client.v1.payment_intents.retrieve_async(provider_id))
        return payment(intent)

    async def cancel(self, provider_id: str) -> GatewayPayment:
        try:
            # No key of ours: the SDK sends a fresh one, since Stripe would replay a stored
            # failure for a reused key, and a repeated cancel is recognised below anyway.
            intent = await call(lambda: self._client.v1.payment_intents.cancel_async(provider_id))
        except GatewayRejected as exc:
            # Cancelling twice is "unexpected state"; report the canceled intent instead.
            current = await self.retrieve(provider_id)
            if exc.code == "payment_intent_unexpected_state" and current.status == "canceled":
                return current
            raise
        return payment(intent)

    async def refund(self, request: GatewayRefundRequest) -> GatewayRefund:
        params: dict[str, Any] = {"payment_intent": request.provider_id, "reason": request.reason}
        if request.amount_cents is not None:
            check_amount(request.amount_cents)
            params["amount"] = request.amount_cents
        refund = await call(
            lambda: self._client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]  # a plain dict of the TypedDict's keys
                {"idempotency_key": request.idempotency_key},
            )
        )
        return refund_of(refund, request.provider_id)

    async def records(
        self, since: datetime, provider_ids: Collection[str] = ()
    ) -> AsyncIterator[GatewayRecord]:
        seen: set[str] = set()
        params: dict[str, Any] = {
            "created": {"gte": int(since.timestamp())},
            "limit": _PAGE,
            "expand": ["data.latest_charge"],
        }
        while True:
            page = await call(
                lambda: self._client.v1.payment_intents.list_async(params)  # type: ignore[arg-type]
            )
            for intent in page.data:
                seen.add(intent.id)
                yield record(intent)
            if not page.has_more or not page.data:
                break
            params["starting_after"] = page.data[-1].id
        for provider_id in provider_ids:
            if provider_id not in seen:
                seen.add(provider_id)
                yield record(await self._retrieve_with_charge(provider_id))

    async def _retrieve_with_charge(self, provider_id: str) -> PaymentIntent:
        return await call(
            lambda: self._client.v1.payment_intents.retrieve_async(
                provider_id, {"expand": ["latest_charge"]}
            )
        )

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        verify_stripe_signature(
            body,
            header(headers, "Stripe-Signature"),
            self._webhook_secret,
            self._clock.now(),
            self._tolerance,
        )
        return parse_stripe_event(body)
