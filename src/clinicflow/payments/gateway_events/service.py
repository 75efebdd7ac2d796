"""Gateway webhooks: verified by the gateway adapter, then processed once.

Each delivery is recorded in `payments_webhook_event` (provider, event id) in the same
transaction as its effect, so a repeated delivery finds its row and changes nothing, and a
failure rolls both back for the gateway to deliver again. Payment events move the order
forward only (ledger/service.py); refund events settle refunds made here, or record in the
ledger one made at the gateway's dashboard. An approved PayPal order is captured here too,
so a buyer who never returns to the site still pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.domain.ledger import gateway_entry
from clinicflow.payments.domain.orders import Order, after_refund
from clinicflow.payments.domain.refunds import Refund
from clinicflow.payments.errors import GatewayDown, PaymentNotFound, WebhookRejected
from clinicflow.payments.events import payment_event
from clinicflow.payments.ledger.commands import Report
from clinicflow.payments.ledger.service import Settlement
from clinicflow.payments.orders.service import OrderService
from clinicflow.payments.ports import (
    GatewayEvent,
    GatewayUnavailable,
    PaymentGateway,
    PaymentsUnitOfWork,
    WebhookSignatureInvalid,
)
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError

log = get_logger(__name__)


def webhook_actor(provider: str) -> Actor:
    return Actor(kind="system", id=f"webhook:{provider}", role=Role.SYSTEM, tier="system")


@dataclass(kw_only=True, eq=False)
class WebhookProcessor:
    uow: UnitsOfWork[PaymentsUnitOfWork]
    clock: Clock
    gateways: Mapping[str, PaymentGateway]
    settlement: Settlement
    orders: OrderService

    async def receive(self, method: str, headers: Mapping[str, str], body: bytes) -> str:
        """What the delivery did (paid, duplicate, unchanged …); raises to refuse it."""
        gateway = self.gateways.get(method)
        if gateway is None:
            raise PaymentNotFound(f"no {method} gateway is configured here")
        try:
            event = await gateway.parse_webhook(headers, body)
        except WebhookSignatureInvalid as exc:
            raise WebhookRejected(f"{exc.detail}; nothing was changed") from exc
        except GatewayUnavailable as exc:
            raise GatewayDown(f"cannot verify with {exc.provider} now; deliver again") from exc
        except (ValueError, KeyError) as exc:
            raise WebhookRejected("the body is not an event of this gateway") from exc
        actor = webhook_actor(event.provider)
        report = Report.of_event(event)
        if report is not None:
            outcome = await self.settlement.apply(report, actor, event)
            if report.status == "requires_capture" and outcome in ("pending", "unchanged"):
                await self._capture(actor, event)
            return outcome
        async with self.uow() as uow:
            if not await uow.webhook_events.remember(event, self.clock.now()):
                return "duplicate"
            outcome, order_id = await self._other(uow, event)
            await uow.webhook_events.outcome(event, outcome, order_id)
            await uow.commit()
        return outcome

    async def _capture(self, actor: Actor, event: GatewayEvent) -> None:
        async with self.uow.reading() as uow:
            order = await uow.orders.reported(
                event.provider, event.provider_payment_id, event.order_id
            )
        if order is None:
            return
        try:
            await self.orders.capture(actor, order.id)
        except DomainError as exc:  # declined, or not capturable yet: the buyer's page says
            log.info("capture_after_approval_refused", payment_id=order.id, code=exc.code)

    async def _other(self, uow: PaymentsUnitOfWork, event: GatewayEvent) -> tuple[str, str | None]:
        if event.type in ("refund.succeeded", "refund.pending", "refund.failed"):
            return await self._refund(uow, event)
        if event.type == "dispute.opened":
            order = await uow.orders.reported(
                event.provider, event.provider_payment_id, event.order_id
            )
            log.warning(
                "payment_dispute_opened",
                provider=event.provider,
                payment_id=order.id if order else None,
            )
            return "dispute_opened", order.id if order else None
        return "ignored", None

    async def _refund(self, uow: PaymentsUnitOfWork, event: GatewayEvent) -> tuple[str, str | None]:
        if event.refund_id is None:
            return "ignored", None
        ours = await uow.refunds.by_provider_id(event.provider, event.refund_id)
        if ours is not None:
            return await self._known_refund(uow, event, ours), ours.order_id
        order = await uow.orders.reported(event.provider, event.provider_payment_id, event.order_id)
        if order is None:
            return "unknown_order", None
        if event.type == "refund.failed" or not event.amount_cents:
            return "unchanged", order.id
        for refund in await uow.refunds.of_order(order.id):
            if refund.status == "pending" and refund.provider_refund_id is None:
                return "refund_in_flight", order.id  # ours, being booked right now
        return await self._external(uow, event, order), order.id

    async def _known_refund(
        self, uow: PaymentsUnitOfWork, event: GatewayEvent, ours: Refund
    ) -> str:
        now = self.clock.now()
        if event.type == "refund.succeeded" and ours.status == "pending":
            await uow.refunds.change(ours.id, {"status": "succeeded", "updated_at": now})
            return "refund_succeeded"
        if event.type != "refund.failed" or ours.status == "failed":
            return "unchanged"
        # The gateway gave up on a refund it had accepted: the money stays with the clinic.
        await uow.refunds.change(ours.id, {"status": "failed", "updated_at": now})
        order = await uow.orders.get(ours.order_id, lock=True)
        why = "the gateway's refund failed"
        key = f"refund_failed:{ours.id}"
        entry = gateway_entry(order, key, "adjustment", ours.amount_cents, why, now)
        if await uow.entries.append([entry]):
            refunded = max(0, order.refunded_cents - ours.amount_cents)
            status = after_refund(order.total_cents, refunded)
            await uow.orders.change(order.id, {"refunded_cents": refunded, "status": status})
        return "refund_failed"

    async def _external(self, uow: PaymentsUnitOfWork, event: GatewayEvent, order: Order) -> str:
        now = self.clock.now()
        amount = int(event.amount_cents or 0)
        key = f"refund:{event.provider}:{event.refund_id}"
        reason = f"refunded at {event.provider} (refund {event.refund_id})"
        entry = gateway_entry(order, key, "refund", -amount, reason, now)
        if not await uow.entries.append([entry]):
            return "unchanged"
        refunded = order.refunded_cents + amount
        status = after_refund(order.total_cents, refunded)
        changed = await uow.orders.change(
            order.id, {"refunded_cents": refunded, "status": status, "updated_at": now}
        )
        uow.publish(payment_event("refunded", changed, now, amount_cents=amount))
        return "external_refund"
