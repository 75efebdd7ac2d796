"""An in-memory PaymentGateway: for unit tests of checkout and for the embedded demo, where
no gateway keys exist. It keeps the rules the real adapters keep (idempotency keys, refunds
up to what was received, no cancel after payment, signed webhooks), and the same contract
suite runs against it and against the real adapters with their fake servers.

`needs_capture=True` behaves like PayPal (approve, then `capture`); False like Stripe (paid
in the browser, captured by itself). `pay` plays the buyer; `outage` makes calls fail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import replace
from datetime import datetime

from clinicflow.adapters.payment_gateways._common import check_amount, check_currency, header
from clinicflow.payments.ports import (
    EventType,
    GatewayEvent,
    GatewayPayment,
    GatewayRecord,
    GatewayRefund,
    GatewayRefundRequest,
    GatewayRejected,
    GatewayUnavailable,
    PaymentDeclined,
    PaymentRequest,
    PaymentStatus,
    WebhookSignatureInvalid,
)
from clinicflow.shared.clock import Clock

SIGNATURE_HEADER = "Fake-Signature"


class FakeGateway:
    def __init__(
        self,
        clock: Clock,
        provider: str = "fake",
        *,
        needs_capture: bool = False,
        webhook_secret: str | None = None,
    ) -> None:
        self.provider = provider
        self.needs_capture = needs_capture
        self.outage = 0  # the next this many calls raise GatewayUnavailable
        self.calls = 0
        self._clock = clock
        # A per-instance random secret unless a test needs a known one.
        self._secret = (webhook_secret or uuid.uuid4().hex).encode()
        self._payments: dict[str, GatewayPayment] = {}
        self._orders: dict[str, tuple[str, datetime]] = {}  # id → (our order id, created)
        self._declines: dict[str, str] = {}
        self._refunded: dict[str, int] = {}
        self._done: dict[str, tuple[str, object]] = {}  # idempotency key → (request, result)

    def __repr__(self) -> str:
        return f"FakeGateway(provider={self.provider!r})"

    # -- the buyer, and webhooks as the gateway would send them -------------------------------

    def pay(self, provider_id: str, decline_code: str | None = None) -> None:
        """The buyer pays (or approves, with needs_capture); a decline code makes it fail."""
        payment = self._payments[provider_id]
        if decline_code is not None and not self.needs_capture:
            self._payments[provider_id] = replace(
                payment, status="failed", failure_code=decline_code
            )
            return
        if decline_code is not None:
            self._declines[provider_id] = decline_code
        status: PaymentStatus = "requires_capture" if self.needs_capture else "succeeded"
        received = 0 if self.needs_capture else payment.amount_cents
        self._payments[provider_id] = replace(
            payment, status=status, amount_received_cents=received
        )

    def signed_event(
        self, event_type: EventType, provider_id: str, event_id: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        payment = self._payments[provider_id]
        body = json.dumps(
            {
                "id": event_id or f"evt_{uuid.uuid4().hex}",
                "type": event_type,
                "payment_id": provider_id,
                "order_id": self._orders[provider_id][0],
                "amount_cents": payment.amount_cents,
                "currency": payment.currency,
                "created": self._clock.now().isoformat(),
            }
        ).encode()
        return {SIGNATURE_HEADER: self._sign(body)}, body

    # -- the port ---------------------------------------------------------------------------

    async def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        self._call()
        check_amount(request.amount_cents)
        asked = f"create {request.order_id} {request.amount_cents} {request.currency.upper()}"
        done = self._replay(request.idempotency_key, asked)
        if isinstance(done, GatewayPayment):
            return done
        provider_id = f"{self.provider}_{uuid.uuid4().hex[:16]}"
        payment = GatewayPayment(
            provider=self.provider,
            provider_id=provider_id,
            status="requires_action",
            amount_cents=request.amount_cents,
            currency=check_currency(request.currency),
            client_secret=None if self.needs_capture else f"{provider_id}_secret",
            approve_url=f"https://pay.invalid/approve/{provider_id}"
            if self.needs_capture
            else None,
        )
        self._payments[provider_id] = payment
        self._orders[provider_id] = (request.order_id, self._clock.now())
        self._done[request.idempotency_key] = (asked, payment)
        return payment

    async def capture(self, provider_id: str, idempotency_key: str) -> GatewayPayment:
        payment = await self.retrieve(provider_id)
        if not self.needs_capture or payment.status != "requires_capture":
            if self.needs_capture and payment.status == "requires_action":
                raise GatewayRejected(self.provider, "the buyer has not approved", "NOT_APPROVED")
            return payment
        if provider_id in self._declines:
            raise PaymentDeclined(self.provider, "declined", code=self._declines.pop(provider_id))
        captured = replace(payment, status="succeeded", amount_received_cents=payment.amount_cents)
        self._payments[provider_id] = captured
        return captured

    async def retrieve(self, provider_id: str) -> GatewayPayment:
        self._call()
        if provider_id not in self._payments:
            raise GatewayRejected(self.provider, "no such payment", "not_found")
        return self._payments[provider_id]

    async def cancel(self, provider_id: str) -> GatewayPayment:
        payment = await self.retrieve(provider_id)
        if payment.status in ("succeeded", "processing"):
            raise GatewayRejected(self.provider, "already paid: refund it instead", "paid")
        canceled = replace(payment, status="canceled", client_secret=None, approve_url=None)
        self._payments[provider_id] = canceled
        return canceled

    async def refund(self, request: GatewayRefundRequest) -> GatewayRefund:
        provider_id, amount_cents = request.provider_id, request.amount_cents
        payment = await self.retrieve(provider_id)
        done = self._replay(request.idempotency_key, f"refund {provider_id} {amount_cents}")
        if isinstance(done, GatewayRefund):
            return done
        if amount_cents is not None:
            check_amount(amount_cents)
        left = payment.amount_received_cents - self._refunded.get(provider_id, 0)
        amount = left if amount_cents is None else amount_cents
        if left <= 0 or amount > left:
            raise GatewayRejected(self.provider, f"{left} left to refund", "amount_too_large")
        self._refunded[provider_id] = self._refunded.get(provider_id, 0) + amount
        refund = GatewayRefund(
            provider=self.provider,
            provider_id=f"re_{uuid.uuid4().hex[:16]}",
            payment_id=provider_id,
            status="succeeded",
            amount_cents=amount,
            currency=payment.currency,
        )
        self._done[request.idempotency_key] = (f"refund {provider_id} {amount_cents}", refund)
        return refund

    async def records(
        self, since: datetime, provider_ids: Collection[str] = ()
    ) -> AsyncIterator[GatewayRecord]:
        self._call()
        for provider_id, payment in list(self._payments.items()):
            order_id, created = self._orders[provider_id]
            if created >= since or provider_id in provider_ids:
                yield GatewayRecord(
                    provider=self.provider,
                    provider_id=provider_id,
                    order_id=order_id,
                    status=payment.status,
                    amount_cents=payment.amount_cents,
                    amount_received_cents=payment.amount_received_cents,
                    refunded_cents=self._refunded.get(provider_id, 0),
                    currency=payment.currency,
                    created=created,
                )

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        given = header(headers, SIGNATURE_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self._sign(body).encode()):
            raise WebhookSignatureInvalid(self.provider, "signature does not match")
        event = json.loads(body)
        return GatewayEvent(
            provider=self.provider,
            event_id=event["id"],
            type=event["type"],
            raw_type=event["type"],
            occurred_at=datetime.fromisoformat(event["created"]),
            provider_payment_id=event["payment_id"],
            order_id=event["order_id"],
            amount_cents=event["amount_cents"],
            currency=event["currency"],
        )

    def _call(self) -> None:
        self.calls += 1
        if self.outage:
            self.outage -= 1
            raise GatewayUnavailable(self.provider, "outage (fake)")

    def _replay(self, key: str, request: str) -> object:
        if key not in self._done:
            return None
        first, result = self._done[key]
        if first != request:
            raise GatewayRejected(self.provider, "key reused with other parameters", "idempotency")
        return result

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()
