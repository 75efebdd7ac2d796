"""Refunds: through the gateway that took the payment, with one idempotency key per refund
(kept in `payments_refund`), so a retried request or a redelivered cancellation finds the
refund it already started instead of making a second one.

Three steps: decide and record the refund as pending (one transaction); ask the gateway
(no transaction held open meanwhile); book it in the ledger (a second transaction). A
gateway failure leaves the refund `failed`, and the same key may try again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.domain import RefundDecision, RefundRule, StaffOverride, refund_for
from clinicflow.payments.domain.access import Need
from clinicflow.payments.domain.ledger import (
    refund_entries,
    refund_shares,
    returned_credit,
    revocation,
)
from clinicflow.payments.domain.orders import SETTLED, Order, OrderLine, after_refund
from clinicflow.payments.domain.refunds import Refund, goodwill, whole_order
from clinicflow.payments.errors import (
    GatewayDown,
    GatewayFailed,
    PaymentNotFound,
    RefundNotAllowed,
)
from clinicflow.payments.events import payment_event
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.idempotency_keys.service import IdempotencyKeys, KeyedRequest
from clinicflow.payments.orders.ports import LineChange, OrderChange
from clinicflow.payments.ports import (
    AlreadyStored,
    GatewayError,
    GatewayRefundRequest,
    GatewayUnavailable,
    PaymentGateway,
    PaymentsUnitOfWork,
    Visit,
)
from clinicflow.payments.refunds.commands import RefundRequest
from clinicflow.payments.refunds.ports import RefundChange
from clinicflow.payments.refunds.views import RefundPreview, RefundView
from clinicflow.shared.actor import SYSTEM, Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

REFUNDABLE = ("paid", "partially_refunded")


@dataclass(kw_only=True, eq=False)
class RefundService:
    uow: UnitsOfWork[PaymentsUnitOfWork]
    clock: Clock
    catalog: Catalog
    guard: PaymentGuard
    gateways: Mapping[str, PaymentGateway]
    keys: IdempotencyKeys

    async def refund(
        self, actor: Actor, order_id: str, req: RefundRequest, key: str | None = None
    ) -> tuple[RefundView, bool]:
        """Staff: a visit by the policy (or an override), or the whole order. With `key`
        (idempotency_keys), and whether it answers an earlier request with that key."""
        await self.guard.require(actor, Need.REFUND, order_id)
        if not req.reason.strip():
            raise InvalidRequest("reason: say why the payment is refunded")
        if key is None:
            at, gateway_key = self.clock.now(), f"refund:{uuid.uuid4()}"
            view = await self.guard.denying(
                actor, Need.REFUND, lambda: self._run(actor, order_id, req, gateway_key, at)
            )
            return view, False
        keyed = self.keys.keyed(actor, key, "refund", {"payment_id": order_id, **asdict(req)})
        return await self.guard.denying(
            actor, Need.REFUND, lambda: self._keyed(actor, order_id, req, keyed)
        )

    async def _keyed(
        self, actor: Actor, order_id: str, req: RefundRequest, keyed: KeyedRequest
    ) -> tuple[RefundView, bool]:
        gateway_key, at = self.keys.gateway_key(keyed), self.clock.now()
        for attempt in (1, 2):
            try:
                refund, order, replayed = await self._start(
                    actor, order_id, req, gateway_key, at, keyed
                )
                break
            except AlreadyStored:
                # The same key stored at the same moment for another payment: the second
                # try finds it and refuses the reuse.
                if attempt == 2:
                    raise
        try:
            return await self._finish(actor, refund, order, gateway_key), replayed
        finally:
            await self.keys.release(keyed)

    async def after_visit(
        self, booking_id: str, status: str, at: datetime, key: str
    ) -> RefundView | None:
        """A paid visit was cancelled or missed: refund what the policy gives back, once."""
        async with self.uow.reading() as uow:
            line = await uow.orders.active_line(booking_id)
            if line is None or line.state != "confirmed":
                return None
            order = await uow.orders.get(line.order_id)
        why = "the visit was cancelled" if status == "cancelled" else "the patient did not come"
        try:
            return await self._run(
                SYSTEM, order.id, RefundRequest(line.booking_id, None, why), key, at
            )
        except RefundNotAllowed:
            return None  # not paid, refunded already, or no longer cancelled

    async def automatic(self, order_id: str, booking_id: str | None, rule: str, why: str) -> None:
        """The platform's own refund in full: a paid hold that was lost, a payment that
        arrived for a canceled order. Safe to call again: the key is fixed."""
        req = RefundRequest(booking_id, None, why, rule=rule)
        key = f"{rule}:{order_id}:{booking_id or '*'}"
        await self._run(SYSTEM, order_id, req, key, self.clock.now())

    async def _run(
        self, actor: Actor, order_id: str, req: RefundRequest, key: str, at: datetime
    ) -> RefundView:
        refund, order, _ = await self._start(actor, order_id, req, key, at)
        return await self._finish(actor, refund, order, key)

    async def _finish(self, actor: Actor, refund: Refund, order: Order, key: str) -> RefundView:
        """Ask the gateway (unless that was done already) and book what it answered."""
        if refund.booked:
            return RefundView.of(refund)
        gateway = self.gateways.get(order.provider or "")
        provider_refund_id, status = None, "succeeded"
        if refund.amount_cents > 0 and gateway is not None and order.provider_id is not None:
            try:
                made = await gateway.refund(
                    GatewayRefundRequest(order.provider_id, refund.amount_cents, key)
                )
            except GatewayUnavailable as exc:
                await self._failed(refund.id)
                raise GatewayDown(
                    f"{exc.provider} is unavailable; the refund was not made: try again later",
                    refund_id=refund.id,
                ) from exc
            except GatewayError as exc:
                await self._failed(refund.id)
                raise GatewayFailed(f"{exc.provider} refused the refund: {exc.detail}") from exc
            provider_refund_id = made.provider_id
            status = "succeeded" if made.status == "succeeded" else "pending"
        return await self._book(actor, order.id, refund.id, provider_refund_id, status)

    async def _start(
        self,
        actor: Actor,
        order_id: str,
        req: RefundRequest,
        key: str,
        at: datetime,
        keyed: KeyedRequest | None = None,
    ) -> tuple[Refund, Order, bool]:
        """The refund recorded as pending (or the one this key started before, and True)."""
        now = self.clock.now()
        async with self.uow() as uow:
            order = await uow.orders.get(order_id, lock=True)
            self.guard.check(actor, Need.REFUND, order)
            if keyed is not None and not await self.keys.claim(uow, keyed, now):
                await self.keys.remember(uow, keyed, order_id, now)
            existing = await uow.refunds.by_key(key)
            if existing is not None:
                if existing.status == "failed":  # the same refund, tried again
                    retried: RefundChange = {"status": "pending", "updated_at": now}
                    existing = await uow.refunds.change(existing.id, retried)
                if keyed is not None:
                    self.guard.record(uow, actor, "read", order)
                await uow.commit()
                return existing, order, True
            line, decision = await self._decide(uow, order, req, at)
            refund = Refund(
                id=str(uuid.uuid4()),
                order_id=order.id,
                booking_id=line.booking_id if line is not None else None,
                amount_cents=decision.refund_cents,
                fee_cents=decision.fee_cents,
                rule=req.rule or decision.rule.value,
                reason=decision.reason,
                status="pending",
                provider=order.provider or order.method,
                provider_refund_id=None,
                idempotency_key=key,
                credit_returned=decision.credit_returned,
                created_by=actor.id[:80],
                created_at=now,
                updated_at=now,
            )
            await uow.refunds.add(refund)
            self.guard.record(uow, actor, "refund", order)
            await uow.commit()
        return refund, order, False

    async def _decide(
        self, uow: PaymentsUnitOfWork, order: Order, req: RefundRequest, at: datetime
    ) -> tuple[OrderLine | None, RefundDecision]:
        """The order line refunded (None for the whole order) and the decision."""
        if order.status not in REFUNDABLE:
            raise RefundNotAllowed(
                f"the payment is {order.status}; only a paid payment can be refunded"
            )
        if req.booking_id is None:
            left = order.total_cents - order.refunded_cents
            return None, whole_order(left, req.amount_cents, req.reason, staff=not req.rule)
        booking_id = req.booking_id
        line = next((x for x in await uow.orders.lines(order.id) if x.pays_for(booking_id)), None)
        if line is None:
            raise PaymentNotFound(f"payment {order.id} does not pay for booking {booking_id}")
        left = line.net_cents - line.refunded_cents
        credit = line.credit_id is not None
        if req.rule is not None:
            # The platform's own refund in full (a lost hold): money and credit both go back.
            rule = RefundRule.STAFF_OVERRIDE
            return line, RefundDecision(left, 0, rule, req.reason, credit, RefundRule.IN_TIME)
        visit = await uow.visits.visit(line.confirmed_booking_id or line.booking_id)
        status = visit.status if visit is not None else "unknown"
        override = None
        if req.amount_cents is not None:
            override = StaffOverride(req.amount_cents, req.reason, req.return_credit)
        if status not in ("cancelled", "no_show"):
            if override is not None:  # goodwill: no cancellation, so no fee and no policy
                return line, goodwill(left, override, paid_with_credit=credit)
            raise RefundNotAllowed(
                f"booking {booking_id} is {status}: cancel it (or mark the no-show) first, "
                "or give amount_cents and a reason to refund anyway"
            )
        if override is None and any(
            r.booking_id == line.booking_id and r.status != "failed"
            for r in await uow.refunds.of_order(order.id)
        ):
            raise RefundNotAllowed(
                f"booking {booking_id} was refunded already; give amount_cents and a reason "
                "to refund more"
            )
        return line, self._by_policy(line, visit, at, status == "no_show", override)

    def _by_policy(
        self,
        line: OrderLine,
        visit: Visit | None,
        at: datetime,
        no_show: bool = False,
        override: StaffOverride | None = None,
    ) -> RefundDecision:
        """What the cancellation policy gives back of what is left of `line` (the one rule
        for the refund made and for the one shown beforehand, `preview`)."""
        return refund_for(
            line.net_cents - line.refunded_cents,
            starts_at=visit.start if visit is not None else line.starts_at,
            cancelled_at=at,
            policy=self.catalog.payments.cancellation,
            no_show=no_show,
            paid_with_credit=line.credit_id is not None,
            override=override,
        )

    async def preview(self, actor: Actor, booking_id: str) -> RefundPreview | None:
        """What cancelling the visit now would give back by the policy, as `after_visit`
        would refund it (the same rule, at this instant); None when no paid order pays for
        the visit. Read only, and audited as a read of the order."""
        await self.guard.require(actor, Need.READ)
        return await self.guard.denying(actor, Need.READ, lambda: self._preview(actor, booking_id))

    async def _preview(self, actor: Actor, booking_id: str) -> RefundPreview | None:
        async with self.uow.reading() as uow:
            line = await uow.orders.active_line(booking_id)
            if line is None:
                return None
            order = await uow.orders.get(line.order_id)
            visit = await uow.visits.visit(line.confirmed_booking_id or line.booking_id)
            earlier = await uow.refunds.of_order(order.id)
        self.guard.check(actor, Need.READ, order)
        if order.status not in SETTLED or line.state != "confirmed":
            return None
        await self.guard.record_read(actor, order, "preview_refund")
        decided = self._by_policy(line, visit, self.clock.now())
        # As `_decide` refuses them: an order no longer refundable, or a visit refunded
        # already (by staff, say), gets nothing more when it is cancelled.
        refunded_before = any(
            r.booking_id == line.booking_id and r.status != "failed" for r in earlier
        )
        gives = order.status in REFUNDABLE and not refunded_before
        return RefundPreview(
            order_id=order.id,
            booking_id=booking_id,
            currency=order.currency,
            paid_cents=line.net_cents,
            refunded_cents=line.refunded_cents,
            refund_cents=decided.refund_cents if gives else 0,
            fee_cents=decided.fee_cents if gives else 0,
            rule=decided.rule.value,
            reason=decided.reason,
            paid_with_credit=line.credit_id is not None,
            credit_returned=decided.credit_returned and gives,
        )

    async def _failed(self, refund_id: str) -> None:
        async with self.uow() as uow:
            await uow.refunds.change(
                refund_id, {"status": "failed", "updated_at": self.clock.now()}
            )
            await uow.commit()

    async def _book(
        self,
        actor: Actor,
        order_id: str,
        refund_id: str,
        provider_refund_id: str | None,
        status: str,
    ) -> RefundView:
        now = self.clock.now()
        async with self.uow() as uow:
            order = await uow.orders.get(order_id, lock=True)  # first, as _start locks
            current = await uow.refunds.get(refund_id)
            if current.booked:
                # A duplicate whose claim had lapsed booked it meanwhile: the ledger has it once.
                return RefundView.of(current)
            answered: RefundChange = {
                "status": status,
                "provider_refund_id": provider_refund_id,
                "updated_at": now,
            }
            refund = await uow.refunds.change(refund_id, answered)
            await self._into_ledger(uow, order, refund, actor.id[:80], now)
            await uow.commit()
        return RefundView.of(refund)

    async def _into_ledger(
        self, uow: PaymentsUnitOfWork, order: Order, refund: Refund, created_by: str, now: datetime
    ) -> None:
        """Ledger entries, credit returned, line and order totals and the event, for a refund
        the gateway accepted (or one that moves no money)."""
        by_line = refund.amount_cents > 0 and order.quoted_booking(refund.booking_id) is None
        refunded = await uow.entries.refunded_by_line(order.id) if by_line else {}
        shares = refund_shares(refund, order, refunded)
        entries = refund_entries(order, refund, shares, created_by, now)
        credit_id = returned_credit(order, refund)
        if credit_id is not None and refund.booking_id is not None:
            await uow.credits.give_back([credit_id], now)
            await uow.credits.return_use(order.id, refund.booking_id, now)
        await uow.entries.append(entries)
        for line in await uow.orders.lines(order.id):
            if share := shares.get(line.line_index):
                more: LineChange = {"refunded_cents": line.refunded_cents + share}
                await uow.orders.change_line(order.id, line.booking_id, more)
        total = order.refunded_cents + sum(shares.values())
        status = after_refund(order.total_cents, total) if order.total_cents else order.status
        totals: OrderChange = {"refunded_cents": total, "status": status, "updated_at": now}
        changed = await uow.orders.change(order.id, totals)
        if status == "refunded" and order.buys_package:
            revoked = await uow.credits.revoke(order.id, now)
            if revoked:
                await uow.entries.append([revocation(order, refund, revoked, created_by, now)])
        uow.publish(
            payment_event(
                "refunded",
                changed,
                now,
                refund_id=refund.id,
                amount_cents=refund.amount_cents,
                booking_id=refund.booking_id,
            )
        )
