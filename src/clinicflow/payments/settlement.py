"""Recording what a gateway says about a payment, in the order's status, the ledger, the
patient's credits and the outbox; then confirming the paid holds with booking.

Only the gateway's word moves money into the ledger: a verified webhook, or the answer to a
capture or retrieve call this server made. Reports may come twice or out of order; the
order moves only forward (domain/orders.py) and each ledger entry has a unique key, so a
repeated report changes nothing.

Holds: a hold is confirmed when its payment succeeds, not extended meanwhile. If it lapsed
before the payment arrived, booking books the same slot anew when it is still free; if it
was taken, the visit's money goes back at once through the gateway (`automatic` refund).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.infra.logging import get_logger
from clinicflow.infra.outbox import record
from clinicflow.payments import repository as repo
from clinicflow.payments.domain import Credit, packages
from clinicflow.payments.domain.orders import next_status
from clinicflow.payments.events import payment_event
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.ports import (
    BookingDesk,
    GatewayEvent,
    GatewayPayment,
    VisitLost,
)
from clinicflow.payments.quoting import ledger_service
from clinicflow.payments.refunds import RefundService
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock

log = get_logger(__name__)
_EVENT_STATUS = {
    "payment.succeeded": "succeeded",
    "payment.failed": "failed",
    "payment.processing": "processing",
    "payment.canceled": "canceled",
    "payment.requires_capture": "requires_capture",
}


@dataclass(frozen=True, slots=True)
class Report:
    """A gateway's word on one payment."""

    provider: str
    provider_id: str | None
    status: str
    amount_cents: int | None  # received, when it succeeded
    currency: str | None
    order_id: str | None = None
    failure_code: str | None = None

    @classmethod
    def of_payment(cls, p: GatewayPayment) -> Report:
        return cls(
            p.provider,
            p.provider_id,
            p.status,
            p.amount_received_cents,
            p.currency,
            failure_code=p.failure_code,
        )

    @classmethod
    def of_event(cls, e: GatewayEvent) -> Report | None:
        status = _EVENT_STATUS.get(e.type)
        if status is None:
            return None
        return cls(
            e.provider,
            e.provider_payment_id,
            status,
            e.amount_cents,
            e.currency,
            e.order_id,
            e.failure_code,
        )


class Settlement:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        desk: BookingDesk,
        guard: PaymentGuard,
        refunds: RefundService,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._desk = desk
        self._guard = guard
        self._refunds = refunds

    async def apply(
        self,
        report: Report,
        actor: Actor,
        event: GatewayEvent | None = None,
        order_id: str | None = None,
    ) -> str:
        """What the report changed: paid, failed, canceled, pending, unchanged, duplicate,
        unknown_order or amount_mismatch. `order_id`: the order is known (our own call)."""
        now = self._clock.now()
        order = None
        async with self._db.write() as conn:
            if event is not None and not await repo.remember_event(conn, event, now):
                return "duplicate"
            if order_id is not None:
                order = await repo.order(conn, order_id, lock=True)
            else:
                order = await repo.order_for(
                    conn, report.provider, report.provider_id, report.order_id
                )
            outcome = "unknown_order"
            if order is not None:
                outcome = await self._apply(conn, order, report, actor, now)
            if event is not None:
                await repo.event_outcome(conn, event, outcome, order.id if order else None)
        if order is not None and outcome == "paid":
            await self.settle(order.id)
        elif order is not None and outcome == "paid_after_cancel":
            why = "the payment arrived after the order was canceled"
            await self._refund_safely(order.id, None, "paid_after_cancel", why)
        return outcome

    async def _apply(
        self, conn: AsyncConnection, order: Any, report: Report, actor: Actor, now: datetime
    ) -> str:
        target = next_status(order.status, report.status)
        if target is None:
            return "unchanged"
        if target == "paid":
            currency = (report.currency or "").upper()
            if report.amount_cents != order.total_cents or currency != order.currency:
                log.warning("payment_amount_mismatch", payment_id=order.id)
                return "amount_mismatch"
            was_canceled = order.status == "canceled"
            await self.mark_paid(conn, order, actor, now, report.provider, report.provider_id)
            return "paid_after_cancel" if was_canceled else "paid"
        if target == "canceled":
            await self.release(conn, order, now)
        values: dict[str, Any] = {"status": target, "updated_at": now}
        if target == "failed":
            values["failure_code"] = (report.failure_code or "failed")[:64]
        row = await repo.update_order(conn, order.id, values)
        if target in ("failed", "canceled"):
            extra = {"failure_code": row.failure_code} if target == "failed" else {}
            await record(conn, payment_event(target, row, now, **extra))
        await self._guard.record(conn, actor, target, row)
        return target

    async def mark_paid(
        self,
        conn: AsyncConnection,
        order: Any,
        actor: Actor,
        now: datetime,
        provider: str,
        provider_ref: str | None,
    ) -> Any:
        """Ledger charges per line, credits bought and used, the order paid, the event."""
        granted, bought = self._grant(order, now)
        base = {
            "order_id": order.id,
            "patient_id": order.patient_id,
            "currency": order.currency,
            "occurred_at": now,
            "created_by": actor.id[:80],
        }
        entries = []
        for line in order.quote["lines"]:
            where = {
                "service": ledger_service(line),
                "line_index": line["index"],
                "booking_id": line.get("booking_id"),
            }
            if line["total_cents"] > 0:
                entries.append(
                    base
                    | where
                    | {
                        "entry_key": f"charge:{order.id}:{line['index']}",
                        "kind": "charge",
                        "amount_cents": line["total_cents"],
                        "provider": provider,
                        "provider_ref": provider_ref,
                        "reason": line["description"],
                    }
                )
            if line["kind"] == "visit" and line["credit_id"]:
                entries.append(
                    base
                    | where
                    | {
                        "entry_key": f"credit_use:{order.id}:{line['index']}",
                        "kind": "credit_use",
                        "amount_cents": 0,
                        "visits": -1,
                        "provider": "credit",
                        "provider_ref": line["credit_id"],
                    }
                )
        for credit in bought:
            entries.append(
                base
                | {
                    "entry_key": f"credit_purchase:{credit.id}",
                    "kind": "credit_purchase",
                    "amount_cents": 0,
                    "visits": credit.granted,
                    "service": credit.service,
                    "provider": "credit",
                    "provider_ref": credit.id,
                    "reason": f"package {credit.package}",
                }
            )
        await repo.append(conn, entries)
        await self._credits(conn, order, granted, now)
        values = {"status": "paid", "paid_at": now, "updated_at": now, "failure_code": None}
        if order.provider is None and provider in ("stripe", "paypal"):
            values |= {"provider": provider, "provider_id": provider_ref}
        row = await repo.update_order(conn, order.id, values)
        await record(conn, payment_event("succeeded", row, now))
        await self._guard.record(conn, actor, "paid", row)
        return row

    def _grant(self, order: Any, now: datetime) -> tuple[tuple[Credit, ...], tuple[Credit, ...]]:
        """The credits this order's packages grant: as bought, and after this order's own
        visits used theirs."""
        bought: tuple[Credit, ...] = ()
        for line in order.quote["lines"]:
            if line["kind"] == "package":
                offer = self._catalog.payments.packages[line["package"]]
                purchase = f"{order.id}:{line['index']}"
                bought += packages.grant(offer, purchase_id=purchase, purchased_at=now)
        after = bought
        ids = {c.id for c in bought}
        for line in order.quote["lines"]:
            if line["kind"] == "visit" and line["credit_id"] in ids:
                after = packages.consume(after, line["credit_id"], now)
        return after, bought

    async def _credits(
        self, conn: AsyncConnection, order: Any, granted: tuple[Credit, ...], now: datetime
    ) -> None:
        await repo.insert_credits(conn, granted, order.patient_id, order.id, now)
        await repo.set_credit_uses(conn, order.id, "reserved", "used", now)
        new = {c.id for c in granted}
        for line in order.quote["lines"]:
            if line["kind"] == "visit" and line["credit_id"] in new:
                booking = line["booking_id"]
                await repo.add_credit_use(conn, line["credit_id"], order.id, booking, "used", now)

    async def release(self, conn: AsyncConnection, order: Any, now: datetime) -> None:
        """An unpaid order given up: its credits, code use and bookings are free again."""
        uses = await repo.set_credit_uses(conn, order.id, "reserved", "released", now)
        await repo.give_back(conn, [u.credit_id for u in uses], now)
        await repo.release_promo(conn, order.id)
        await repo.release_lines(conn, order.id)

    async def settle(self, order_id: str) -> None:
        """Confirm the paid holds (again safe to call: sync does, after a lost webhook)."""
        async with self._db.read() as conn:
            order = await repo.order(conn, order_id)
            lines = [x for x in await repo.lines(conn, order_id) if x.state in ("reserved", "lost")]
            refunds = await repo.refunds_of(conn, order_id)
            refunded = {r.booking_id for r in refunds if r.status != "failed"}
        if order.status not in ("paid", "partially_refunded"):
            return
        for line in lines:
            if line.state == "lost":
                if line.booking_id not in refunded:
                    await self._lost(order_id, line.booking_id, "the visit was lost earlier")
                continue
            try:
                booked = await self._desk.confirm(line.booking_id, order.patient_id)
            except VisitLost as exc:
                async with self._db.write() as conn:
                    await repo.update_line(conn, order_id, line.booking_id, {"state": "lost"})
                await self._lost(order_id, line.booking_id, str(exc))
                continue
            values = {"state": "confirmed"}
            if booked != line.booking_id:
                values["confirmed_booking_id"] = booked
            async with self._db.write() as conn:
                await repo.update_line(conn, order_id, line.booking_id, values)

    async def _lost(self, order_id: str, booking_id: str, why: str) -> None:
        reason = f"the paid visit could not be booked ({why}); refunded in full"
        await self._refund_safely(order_id, booking_id, "visit_lost", reason)

    async def _refund_safely(
        self, order_id: str, booking_id: str | None, rule: str, why: str
    ) -> None:
        # A gateway outage must not undo the payment just recorded: the refund stays
        # failed (or not started) and POST /v1/payments/{id}/sync tries it again.
        try:
            await self._refunds.automatic(order_id, booking_id, rule, why)
        except Exception as exc:
            log.warning("automatic_refund_not_made", payment_id=order_id, error=type(exc).__name__)
