"""Gateway webhooks: verified by the gateway adapter, then processed once.

Each delivery is recorded in `payments_webhook_event` (provider, event id) in the same
transaction as its effect, so a repeated delivery finds its row and changes nothing, and a
failure rolls both back for the gateway to deliver again. Payment events move the order
forward only (settlement.py); refund events settle refunds made here, or record in the
ledger one made at the gateway's dashboard. An approved PayPal order is captured here too,
so a buyer who never returns to the site still pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import Database
from clinicflow.infra.logging import get_logger
from clinicflow.infra.outbox import record
from clinicflow.payments import repository as repo
from clinicflow.payments.domain.orders import after_refund
from clinicflow.payments.errors import GatewayDown, PaymentNotFound, WebhookRejected
from clinicflow.payments.events import payment_event
from clinicflow.payments.manage import PaymentDesk
from clinicflow.payments.ports import (
    GatewayEvent,
    GatewayUnavailable,
    PaymentGateway,
    WebhookSignatureInvalid,
)
from clinicflow.payments.settlement import Report, Settlement
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError

log = get_logger(__name__)


def webhook_actor(provider: str) -> Actor:
    return Actor(kind="system", id=f"webhook:{provider}", role=Role.SYSTEM, tier="system")


class WebhookProcessor:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        gateways: Mapping[str, PaymentGateway],
        settlement: Settlement,
        desk: PaymentDesk,
    ) -> None:
        self._db = db
        self._clock = clock
        self._gateways = gateways
        self._settlement = settlement
        self._desk = desk

    async def receive(self, method: str, headers: Mapping[str, str], body: bytes) -> str:
        """What the delivery did (paid, duplicate, unchanged …); raises to refuse it."""
        gateway = self._gateways.get(method)
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
            outcome = await self._settlement.apply(report, actor, event)
            if report.status == "requires_capture" and outcome in ("pending", "unchanged"):
                await self._capture(actor, event)
            return outcome
        async with self._db.write() as conn:
            if not await repo.remember_event(conn, event, self._clock.now()):
                return "duplicate"
            outcome, order_id = await self._other(conn, event)
            await repo.event_outcome(conn, event, outcome, order_id)
        return outcome

    async def _capture(self, actor: Actor, event: GatewayEvent) -> None:
        async with self._db.read() as conn:
            order = await repo.order_for(
                conn, event.provider, event.provider_payment_id, event.order_id
            )
        if order is None:
            return
        try:
            await self._desk.capture(actor, order.id)
        except DomainError as exc:  # declined, or not capturable yet: the buyer's page says
            log.info("capture_after_approval_refused", payment_id=order.id, code=exc.code)

    async def _other(self, conn: AsyncConnection, event: GatewayEvent) -> tuple[str, str | None]:
        if event.type in ("refund.succeeded", "refund.pending", "refund.failed"):
            return await self._refund(conn, event)
        if event.type == "dispute.opened":
            order = await repo.order_for(
                conn, event.provider, event.provider_payment_id, event.order_id
            )
            log.warning(
                "payment_dispute_opened",
                provider=event.provider,
                payment_id=order.id if order else None,
            )
            return "dispute_opened", order.id if order else None
        return "ignored", None

    async def _refund(self, conn: AsyncConnection, event: GatewayEvent) -> tuple[str, str | None]:
        if event.refund_id is None:
            return "ignored", None
        ours = await repo.refund_by_provider_id(conn, event.provider, event.refund_id)
        if ours is not None:
            return await self._known_refund(conn, event, ours), ours.order_id
        order = await repo.order_for(
            conn, event.provider, event.provider_payment_id, event.order_id
        )
        if order is None:
            return "unknown_order", None
        if event.type == "refund.failed" or not event.amount_cents:
            return "unchanged", order.id
        for refund in await repo.refunds_of(conn, order.id):
            if refund.status == "pending" and refund.provider_refund_id is None:
                return "refund_in_flight", order.id  # ours, being booked right now
        return await self._external(conn, event, order), order.id

    async def _known_refund(self, conn: AsyncConnection, event: GatewayEvent, ours: Any) -> str:
        now = self._clock.now()
        if event.type == "refund.succeeded" and ours.status == "pending":
            await repo.update_refund(conn, ours.id, {"status": "succeeded", "updated_at": now})
            return "refund_succeeded"
        if event.type != "refund.failed" or ours.status == "failed":
            return "unchanged"
        # The gateway gave up on a refund it had accepted: the money stays with the clinic.
        await repo.update_refund(conn, ours.id, {"status": "failed", "updated_at": now})
        order = await repo.order(conn, ours.order_id, lock=True)
        entry = _entry(order, f"refund_failed:{ours.id}", "adjustment", ours.amount_cents, now)
        if await repo.append(conn, [entry | {"reason": "the gateway's refund failed"}]):
            refunded = max(0, order.refunded_cents - ours.amount_cents)
            await repo.update_order(
                conn,
                order.id,
                {"refunded_cents": refunded, "status": after_refund(order.total_cents, refunded)},
            )
        return "refund_failed"

    async def _external(self, conn: AsyncConnection, event: GatewayEvent, order: Any) -> str:
        now = self._clock.now()
        amount = int(event.amount_cents or 0)
        key = f"refund:{event.provider}:{event.refund_id}"
        reason = f"refunded at {event.provider} (refund {event.refund_id})"
        entry = _entry(order, key, "refund", -amount, now) | {"reason": reason}
        if not await repo.append(conn, [entry]):
            return "unchanged"
        refunded = order.refunded_cents + amount
        values = {"refunded_cents": refunded, "status": after_refund(order.total_cents, refunded)}
        row = await repo.update_order(conn, order.id, values | {"updated_at": now})
        await record(conn, payment_event("refunded", row, now, amount_cents=amount))
        return "external_refund"


def _entry(order: Any, key: str, kind: str, cents: int, now: Any) -> dict[str, Any]:
    return {
        "entry_key": key,
        "order_id": order.id,
        "patient_id": order.patient_id,
        "kind": kind,
        "amount_cents": cents,
        "visits": 0,
        "currency": order.currency,
        "service": None,
        "line_index": None,
        "booking_id": None,
        "provider": order.provider or order.method,
        "provider_ref": order.provider_id,
        "occurred_at": now,
        "created_by": f"webhook:{order.provider}",
    }
