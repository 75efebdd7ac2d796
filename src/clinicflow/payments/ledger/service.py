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

from clinicflow.catalog import Catalog
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.domain import Credit, packages
from clinicflow.payments.domain.access import Need
from clinicflow.payments.domain.ledger import payment_entries
from clinicflow.payments.domain.orders import Order, OrderLine, next_status
from clinicflow.payments.domain.refunds import Refund
from clinicflow.payments.events import payment_event
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.ledger.commands import Report
from clinicflow.payments.ledger.views import RevenueRow
from clinicflow.payments.orders.ports import LineChange, OrderChange
from clinicflow.payments.ports import BookingDesk, GatewayEvent, PaymentsUnitOfWork, VisitLost
from clinicflow.payments.refunds.service import RefundService
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Settled:
    """An order as `Settlement.settle` read it, with its lines and refunds."""

    order: Order
    lines: tuple[OrderLine, ...]
    refunds: tuple[Refund, ...]


@dataclass(kw_only=True, eq=False)
class Settlement:
    uow: UnitsOfWork[PaymentsUnitOfWork]
    clock: Clock
    catalog: Catalog
    desk: BookingDesk
    guard: PaymentGuard
    # For a paid visit that was lost, or a payment that arrived after its order was canceled.
    refunds: RefundService

    async def apply(
        self,
        report: Report,
        actor: Actor,
        event: GatewayEvent | None = None,
        order_id: str | None = None,
    ) -> str:
        """What the report changed: paid, failed, canceled, pending, unchanged, duplicate,
        unknown_order or amount_mismatch. `order_id`: the order is known (our own call)."""
        now = self.clock.now()
        async with self.uow() as uow:
            if event is not None and not await uow.webhook_events.remember(event, now):
                return "duplicate"
            if order_id is not None:
                order: Order | None = await uow.orders.get(order_id, lock=True)
            else:
                order = await uow.orders.reported(
                    report.provider, report.provider_id, report.order_id
                )
            outcome = "unknown_order"
            if order is not None:
                outcome = await self._apply(uow, order, report, actor, now)
            if event is not None:
                await uow.webhook_events.outcome(event, outcome, order.id if order else None)
            await uow.commit()
        if order is not None and outcome == "paid":
            await self.settle(order.id)
        elif order is not None and outcome == "paid_after_cancel":
            why = "the payment arrived after the order was canceled"
            await self._refund_safely(order.id, None, "paid_after_cancel", why)
        return outcome

    async def _apply(
        self, uow: PaymentsUnitOfWork, order: Order, report: Report, actor: Actor, now: datetime
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
            await self.mark_paid(uow, order, actor, now, report.provider, report.provider_id)
            return "paid_after_cancel" if was_canceled else "paid"
        if target == "canceled":
            await self.release(uow, order, now)
        change: OrderChange = {"status": target, "updated_at": now}
        if target == "failed":
            change["failure_code"] = (report.failure_code or "failed")[:64]
        changed = await uow.orders.change(order.id, change)
        if target == "failed":
            uow.publish(payment_event(target, changed, now, failure_code=changed.failure_code))
        elif target == "canceled":
            uow.publish(payment_event(target, changed, now))
        self.guard.record(uow, actor, target, changed)
        return target

    async def mark_paid(
        self,
        uow: PaymentsUnitOfWork,
        order: Order,
        actor: Actor,
        now: datetime,
        provider: str,
        provider_ref: str | None,
    ) -> Order:
        """Ledger charges per line, credits bought and used, the order paid, the event."""
        granted, bought = self._grant(order, now)
        await uow.entries.append(
            payment_entries(order, bought, provider, provider_ref, actor.id[:80], now)
        )
        await self._credits(uow, order, granted, now)
        change: OrderChange = {
            "status": "paid",
            "paid_at": now,
            "updated_at": now,
            "failure_code": None,
        }
        if order.provider is None and provider in ("stripe", "paypal"):
            change["provider"], change["provider_id"] = provider, provider_ref
        paid = await uow.orders.change(order.id, change)
        uow.publish(payment_event("succeeded", paid, now))
        self.guard.record(uow, actor, "paid", paid)
        return paid

    def _grant(self, order: Order, now: datetime) -> tuple[tuple[Credit, ...], tuple[Credit, ...]]:
        """The credits this order's packages grant: as bought, and after this order's own
        visits used theirs."""
        bought: tuple[Credit, ...] = ()
        for line in order.quote["lines"]:
            if line["kind"] == "package":
                offer = self.catalog.payments.packages[line.get("package", "")]
                purchase = f"{order.id}:{line['index']}"
                bought += packages.grant(offer, purchase_id=purchase, purchased_at=now)
        after = bought
        ids = {c.id for c in bought}
        for line in order.quote["lines"]:
            if line["kind"] == "visit" and line["credit_id"] in ids:
                after = packages.consume(after, line["credit_id"], now)
        return after, bought

    async def _credits(
        self, uow: PaymentsUnitOfWork, order: Order, granted: tuple[Credit, ...], now: datetime
    ) -> None:
        await uow.credits.add(granted, order.patient_id, order.id, now)
        await uow.credits.settle_uses(order.id, "used", now)
        new = {c.id for c in granted}
        for line in order.quote["lines"]:
            credit_id, booking_id = line["credit_id"], line.get("booking_id")
            if line["kind"] == "visit" and credit_id in new and booking_id is not None:
                await uow.credits.use(credit_id, order.id, booking_id, now)

    async def release(self, uow: PaymentsUnitOfWork, order: Order, now: datetime) -> None:
        """An unpaid order given up: its credits, code use and bookings are free again."""
        reserved = await uow.credits.settle_uses(order.id, "released", now)
        await uow.credits.give_back(reserved, now)
        await uow.promo_uses.release(order.id)
        await uow.orders.release_lines(order.id)

    async def settle(self, order_id: str) -> Settled | None:
        """Confirm the paid holds (again safe to call: sync does, after a lost webhook). The
        order as it read it when there was nothing to change (a caller answering with the
        order need not read it again); None when it changed something."""
        async with self.uow.reading() as uow:
            order = await uow.orders.get(order_id)
            every = await uow.orders.lines(order_id)
            refunds = await uow.refunds.of_order(order_id)
        lines = [x for x in every if x.state in ("reserved", "lost")]
        refunded = {r.booking_id for r in refunds if r.status != "failed"}
        if order.status not in ("paid", "partially_refunded") or not lines:
            return Settled(order, tuple(every), tuple(refunds))
        for line in lines:
            if line.state == "lost":
                if line.booking_id not in refunded:
                    await self._lost(order_id, line.booking_id, "the visit was lost earlier")
                continue
            try:
                booked = await self.desk.confirm(line.booking_id, order.patient_id)
            except VisitLost as exc:
                async with self.uow() as uow:
                    await uow.orders.change_line(order_id, line.booking_id, {"state": "lost"})
                    await uow.commit()
                await self._lost(order_id, line.booking_id, str(exc))
                continue
            change: LineChange = {"state": "confirmed"}
            if booked != line.booking_id:
                change["confirmed_booking_id"] = booked
            async with self.uow() as uow:
                await uow.orders.change_line(order_id, line.booking_id, change)
                await uow.commit()
        return None

    async def _lost(self, order_id: str, booking_id: str, why: str) -> None:
        reason = f"the paid visit could not be booked ({why}); refunded in full"
        await self._refund_safely(order_id, booking_id, "visit_lost", reason)

    async def _refund_safely(
        self, order_id: str, booking_id: str | None, rule: str, why: str
    ) -> None:
        # A gateway outage must not undo the payment just recorded: the refund stays
        # failed (or not started) and POST /v1/payments/{id}/sync tries it again.
        try:
            await self.refunds.automatic(order_id, booking_id, rule, why)
        except Exception as exc:
            log.warning("automatic_refund_not_made", payment_id=order_id, error=type(exc).__name__)


@dataclass(kw_only=True, eq=False)
class RevenueReader:
    """Revenue from the ledger, for billing and analysts: sums, no patient data."""

    uow: UnitsOfWork[PaymentsUnitOfWork]
    catalog: Catalog
    guard: PaymentGuard

    async def revenue(self, actor: Actor, lo: datetime, hi: datetime) -> list[RevenueRow]:
        await self.guard.require(actor, Need.REVENUE)
        async with self.uow.reading() as uow:
            return await uow.reports.revenue(lo, hi, self.catalog.clinic.tz)
