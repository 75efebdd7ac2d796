"""PayPal Checkout through Orders v2 and Payments v2, over the injected httpx client.

Flow: `create_payment` makes an order (intent CAPTURE, custom_id = our order id) and returns
the URL where the buyer approves; PayPal sends the buyer back to `return_url`; `capture`
takes the money. Nothing moves until that capture, which only we can make.

Every write carries the caller's key as PayPal-Request-Id, so a retried create, capture or
refund returns the first result. PayPal keeps these ids for 6 hours by default; a capture
repeated after that, or with another key, meets ORDER_ALREADY_CAPTURED, read as "done".

Reconciliation (`records`) retrieves each order the ledger knows (GET /v2/checkout/orders),
rather than listing through Transaction Search (/v1/reporting/transactions): that API needs a
separately enabled permission, lags up to three hours, lists captures and refunds as separate
rows in windows of at most 31 days, and would find nothing more, because with intent CAPTURE
an order we never recorded can never be captured, so it cannot hold money. `since` is
therefore unused here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from clinicflow.adapters.payment_gateways import _paypal_orders as orders
from clinicflow.adapters.payment_gateways._common import check_amount, check_currency
from clinicflow.adapters.payment_gateways._paypal_api import PROVIDER, PayPalApi
from clinicflow.adapters.payment_gateways.paypal_money import to_paypal_value
from clinicflow.adapters.payment_gateways.paypal_webhooks import (
    parse_paypal_event,
    verification_request,
)
from clinicflow.payments.ports import (
    GatewayEvent,
    GatewayPayment,
    GatewayRecord,
    GatewayRefund,
    GatewayRefundRequest,
    GatewayRejected,
    PaymentDeclined,
    PaymentRequest,
    WebhookSignatureInvalid,
)
from clinicflow.shared.clock import Clock

SANDBOX = "https://api-m.sandbox.paypal.com"
LIVE = "https://api-m.paypal.com"
_DESCRIPTION_MAX = 127  # purchase_units[].description limit


class PayPalGateway:
    provider = PROVIDER

    def __init__(
        self,
        http: httpx.AsyncClient,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        clock: Clock,
        *,
        base_url: str = SANDBOX,
        return_url: str | None = None,
        cancel_url: str | None = None,
        brand_name: str | None = None,
    ) -> None:
        """Without return/cancel URLs the buyer approves in PayPal's JS button (popup); with
        them, by redirect, and PayPal appends ?token=<order id> to the return URL."""
        self._api = PayPalApi(http, client_id, client_secret, clock, base_url)
        self._webhook_id = webhook_id
        self._experience: dict[str, str] = {
            key: value
            for key, value in {
                "return_url": return_url,
                "cancel_url": cancel_url,
                "brand_name": brand_name,
            }.items()
            if value
        }

    def __repr__(self) -> str:
        # Keeps the client secret and the bearer token out of logs and tracebacks.
        return f"PayPalGateway(base_url={self._api.base_url!r})"

    async def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        """PayPal orders have no metadata: only `order_id` travels, as custom_id."""
        check_amount(request.amount_cents)
        code = check_currency(request.currency)
        value = to_paypal_value(request.amount_cents, code)
        body: dict[str, Any] = {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "custom_id": request.order_id,
                    "description": request.description[:_DESCRIPTION_MAX],
                    "amount": {"currency_code": code, "value": value},
                }
            ],
        }
        if self._experience:
            # Services are not shipped; PAY_NOW shows "Pay Now" since capture follows at once.
            context = {"shipping_preference": "NO_SHIPPING", "user_action": "PAY_NOW"}
            body["payment_source"] = {"paypal": {"experience_context": context | self._experience}}
        order = await self._api.call("POST", "/v2/checkout/orders", body, request.idempotency_key)
        return orders.payment(order)

    async def capture(self, provider_id: str, idempotency_key: str) -> GatewayPayment:
        path = f"/v2/checkout/orders/{_id(provider_id)}/capture"
        try:
            order = await self._api.call("POST", path, {}, idempotency_key)
        except GatewayRejected as exc:
            if exc.code != "ORDER_ALREADY_CAPTURED":
                raise
            order = await self._order(provider_id)
        payment = orders.payment(order)
        if payment.status == "failed":
            # Declined at capture with a 201: the same answer as a 422 INSTRUMENT_DECLINED.
            raise PaymentDeclined(PROVIDER, "capture declined", code=payment.failure_code)
        return payment

    async def retrieve(self, provider_id: str) -> GatewayPayment:
        return orders.payment(await self._order(provider_id))

    async def cancel(self, provider_id: str) -> GatewayPayment:
        """Orders v2 has no call to void an uncaptured CAPTURE order: it expires by itself,
        and no money moves unless we capture. So this only checks nothing was captured and
        reports it canceled; checkout must then never capture it."""
        payment = await self.retrieve(provider_id)
        if payment.status in ("succeeded", "processing"):
            raise GatewayRejected(
                PROVIDER, "the order is captured: refund it instead", "ORDER_ALREADY_CAPTURED"
            )
        return GatewayPayment(
            provider=PROVIDER,
            provider_id=provider_id,
            status="canceled",
            amount_cents=payment.amount_cents,
            currency=payment.currency,
        )

    async def refund(self, request: GatewayRefundRequest) -> GatewayRefund:
        """PayPal refunds have no reason field; `reason` is only kept in the ledger."""
        order = await self._order(request.provider_id)
        capture_id = orders.captured_id(order)
        if capture_id is None:
            raise GatewayRejected(PROVIDER, "nothing captured to refund", "NOT_CAPTURED")
        body: dict[str, Any] = {}
        custom_id = orders.unit(order).get("custom_id")
        if custom_id:
            body["custom_id"] = custom_id  # so the refund webhook names our order
        if request.amount_cents is not None:
            check_amount(request.amount_cents)
            code = orders.money(orders.unit(order)["amount"])[1]
            value = to_paypal_value(request.amount_cents, code)
            body["amount"] = {"currency_code": code, "value": value}
        path = f"/v2/payments/captures/{_id(capture_id)}/refund"
        refund = await self._api.call("POST", path, body, request.idempotency_key)
        return orders.refund(refund, request.provider_id)

    async def records(
        self, since: datetime, provider_ids: Collection[str] = ()
    ) -> AsyncIterator[GatewayRecord]:
        for provider_id in dict.fromkeys(provider_ids):
            yield orders.record(await self._order(provider_id))

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise WebhookSignatureInvalid(PROVIDER, "body is not JSON") from exc
        if not isinstance(event, dict):
            raise WebhookSignatureInvalid(PROVIDER, "body is not a PayPal event")
        request = verification_request(headers, event, self._webhook_id)
        try:
            answer = await self._api.call(
                "POST", "/v1/notifications/verify-webhook-signature", request
            )
        except GatewayRejected as exc:
            # PayPal refuses to check what it cannot parse (bad cert URL, bad headers).
            if exc.code not in ("VALIDATION_ERROR", "INVALID_REQUEST"):
                raise
            raise WebhookSignatureInvalid(PROVIDER, f"verification refused: {exc.code}") from exc
        if answer.get("verification_status") != "SUCCESS":
            raise WebhookSignatureInvalid(PROVIDER, "PayPal did not verify the signature")
        return parse_paypal_event(event)

    async def _order(self, provider_id: str) -> dict[str, Any]:
        order: dict[str, Any] = await self._api.call(
            "GET", f"/v2/checkout/orders/{_id(provider_id)}"
        )
        return order


def _id(resource_id: str) -> str:
    # Ids come back from the ledger and the browser: never let one change the path.
    return quote(resource_id, safe="")
