"""Checkout: an order for held or booked visits and/or a package, priced afresh, then paid
through Stripe (the client secret goes to the browser), PayPal (the buyer approves, we
capture), or in the clinic (front desk: cash or card terminal, paid at once).

Failover: when the chosen gateway is down (timeouts, 5xx, circuit open) the order stays
open and the answer is a 503 naming the methods that may work now for the same order
(`POST /v1/payments/{id}/method`); with `fallback: true` the other gateway is used at once.

The order is priced afresh, in its own transaction (quotes/service.py `Quoter`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.checkout.views import Checkout
from clinicflow.payments.domain import Line, PackageLine, Quote, VisitLine
from clinicflow.payments.domain.access import Need
from clinicflow.payments.domain.errors import CreditUnavailable
from clinicflow.payments.domain.orders import Order, OrderLine, next_status
from clinicflow.payments.domain.quotes import quote_json
from clinicflow.payments.errors import (
    BookingAlreadyInOrder,
    BookingNotPayable,
    GatewayDown,
    GatewayFailed,
    MethodNotConfigured,
    PaymentDeclinedError,
    UnpriceableOrder,
)
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.idempotency_keys.service import IdempotencyKeys, KeyedRequest
from clinicflow.payments.ledger.service import Settlement
from clinicflow.payments.orders.views import OrderView
from clinicflow.payments.ports import (
    AlreadyStored,
    GatewayCircuitOpen,
    GatewayRejected,
    GatewayUnavailable,
    PaymentDeclined,
    PaymentGateway,
    PaymentRequest,
    PaymentsUnitOfWork,
    Visit,
)
from clinicflow.payments.quotes.service import Quoter
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

PAYABLE = ("held", "confirmed", "checked_in", "completed")


@dataclass(kw_only=True, eq=False)
class CheckoutService:
    uow: UnitsOfWork[PaymentsUnitOfWork]
    clock: Clock
    catalog: Catalog
    guard: PaymentGuard
    gateways: Mapping[str, PaymentGateway]
    settlement: Settlement
    keys: IdempotencyKeys
    quoter: Quoter
    # Whether another gateway may stand in for one that is down (the `paypal_backup`
    # feature flag); always, when not given.
    backup_allowed: Callable[[], Awaitable[bool]] | None = None

    async def create(
        self, actor: Actor, req: CheckoutRequest, key: str | None = None
    ) -> tuple[Checkout, bool]:
        """The checkout, and whether it answers an earlier request with the same `key`
        (idempotency_keys): then no second order is made and nothing is charged twice."""
        need = Need.IN_CLINIC if req.method == "in_clinic" else Need.PAY
        await self.guard.require(actor, need)
        self.check_method(req.method, req.tender)
        keyed = None if key is None else self.keys.keyed(actor, key, "checkout", asdict(req))
        order_id, replayed, paid_now = await self._place(actor, req, keyed)
        try:
            if replayed:
                return await self._again(actor, order_id, req), True
            if paid_now:
                read = await self.settlement.settle(order_id)  # as read there, if unchanged
                if read is None:
                    return Checkout(await self.view(order_id)), False
                return Checkout(OrderView.of(read.order, read.lines, read.refunds)), False
            return await self.start(order_id, req.method, req.fallback), False
        finally:
            if keyed is not None:
                await self.keys.release(keyed)

    async def _place(
        self, actor: Actor, req: CheckoutRequest, keyed: KeyedRequest | None
    ) -> tuple[str, bool, bool]:
        """The order, made in one transaction (or the one an earlier request with the same
        key made): its id, whether it was made before, whether it is paid already."""
        for attempt in (1, 2):
            try:
                return await self._place_once(actor, req, keyed)
            except AlreadyStored as exc:
                # Another order took one of these bookings between our check and our insert,
                # or a duplicate with the same key stored it first (the second try finds it).
                if keyed is None or attempt == 2:
                    raise BookingAlreadyInOrder(
                        "one of these bookings was just put in another payment; look it up "
                        "and pay or cancel that one"
                    ) from exc
            except BookingAlreadyInOrder:
                # A duplicate with the same key committed its order after we looked for the
                # key and before we looked at the bookings (PostgreSQL runs them side by
                # side): the second try finds the key and answers as the duplicate would.
                if keyed is None or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _place_once(
        self, actor: Actor, req: CheckoutRequest, keyed: KeyedRequest | None
    ) -> tuple[str, bool, bool]:
        order_id, now = str(uuid.uuid4()), self.clock.now()
        async with self.uow() as uow:
            if keyed is not None and (earlier := await self.keys.claim(uow, keyed, now)):
                await uow.commit()
                return earlier, True, False
            patient_id, lines, visits = await self._lines(uow, actor, req, order_id)
            q = await self.quoter.quote(
                uow, lines, patient_id, req.promo_code, now, use_credits=req.use_credits
            )
            if not q.priceable:
                reasons = [str(u) for u in q.unpriceable]
                raise UnpriceableOrder("; ".join(reasons), unpriceable=reasons)
            order = await self._insert(uow, actor, req, patient_id, q, visits, order_id, now)
            paid_now = req.method == "in_clinic" or q.total_cents == 0
            if paid_now:
                provider = "in_clinic" if req.method == "in_clinic" else "credit"
                await self.settlement.mark_paid(uow, order, actor, now, provider, None)
            if keyed is not None:
                await self.keys.remember(uow, keyed, order_id, now)
            await uow.commit()
        return order_id, False, paid_now

    async def _again(self, actor: Actor, order_id: str, req: CheckoutRequest) -> Checkout:
        """A request repeated with its key: the same order as it is now, its gateway payment
        started if the first attempt did not get that far. The client secret is never
        stored, so a payment still to be made is looked up at the gateway for it."""
        async with self.uow.reading() as uow:
            order = await uow.orders.get(order_id)
        await self.guard.record_read(actor, order)
        if order.status == "open" and order.provider_id is None and order.method != "in_clinic":
            return await self.start(order_id, req.method, req.fallback)
        secret = approve = None
        provider = order.provider or ""
        gateway = self.gateways.get(provider)
        pending = order.status in ("pending", "failed")
        if gateway is not None and order.provider_id is not None and pending:
            try:
                payment = await gateway.retrieve(order.provider_id)
            except GatewayUnavailable as exc:
                raise _down(order.id, provider, [], exc) from exc
            except GatewayRejected as exc:
                raise GatewayFailed(f"{exc.provider} could not be asked: {exc.detail}") from exc
            secret, approve = payment.client_secret, payment.approve_url
        fallback_from = req.method if order.method != req.method else None
        return Checkout(await self.view(order_id), secret, approve, fallback_from)

    def check_method(self, method: str, tender: str | None) -> None:
        if method == "in_clinic":
            if tender is None:
                raise InvalidRequest("tender: say how it was paid: cash or card_terminal")
            return
        if method not in self.gateways:
            configured = ", ".join([*self.gateways, "in_clinic"])
            raise MethodNotConfigured(f"method {method!r} is not set up here; use {configured}")

    async def start(
        self, order_id: str, method: str, fallback: bool, fallback_from: str | None = None
    ) -> Checkout:
        """Create the gateway payment for an open order."""
        gateway = self.gateways[method]
        async with self.uow.reading() as uow:
            order = await uow.orders.get(order_id)
        try:
            payment = await gateway.create_payment(
                PaymentRequest(
                    order.id,
                    order.total_cents,
                    order.currency,
                    self._description(order),
                    f"{order.id}:{method}",
                )
            )
        except GatewayUnavailable as exc:
            others = [m for m in self.gateways if m != method]
            if others and self.backup_allowed is not None and not await self.backup_allowed():
                others = []
            if fallback and others:
                return await self.start(order_id, others[0], False, fallback_from=method)
            raise _down(order.id, method, others, exc) from exc
        except PaymentDeclined as exc:
            raise PaymentDeclinedError(
                f"declined ({exc.code}): try another card or method"
            ) from exc
        except GatewayRejected as exc:
            raise GatewayFailed(f"{exc.provider} refused the payment: {exc.detail}") from exc
        async with self.uow() as uow:
            order = await uow.orders.get(order_id, lock=True)
            await uow.orders.change(
                order_id,
                {
                    "provider": payment.provider,
                    "provider_id": payment.provider_id,
                    "method": method,
                    "status": next_status(order.status, payment.status) or order.status,
                    "updated_at": self.clock.now(),
                },
            )
            await uow.commit()
        view = await self.view(order_id)
        return Checkout(view, payment.client_secret, payment.approve_url, fallback_from)

    async def view(self, order_id: str) -> OrderView:
        async with self.uow.reading() as uow:
            return await OrderView.load(uow, order_id)

    async def _lines(
        self, uow: PaymentsUnitOfWork, actor: Actor, req: CheckoutRequest, order_id: str
    ) -> tuple[str, list[Line], dict[str, Visit]]:
        if not req.booking_ids and req.package is None:
            raise InvalidRequest("give booking_ids, a package, or both")
        if len(set(req.booking_ids)) != len(req.booking_ids):
            raise InvalidRequest("booking_ids: name each booking once")
        visits: dict[str, Visit] = {}
        for booking_id in req.booking_ids:
            visit = await uow.visits.visit(booking_id)
            if visit is None or visit.status not in PAYABLE:
                state = visit.status if visit else "not found"
                raise BookingNotPayable(f"booking {booking_id} cannot be paid for ({state})")
            visits[booking_id] = visit
        patient_id = _patient(actor, req, list(visits.values()))
        for visit in visits.values():
            await self._check_visit(uow, visit, patient_id)
        lines: list[Line] = []
        if req.package is not None:
            lines.append(PackageLine(req.package, purchase_id=f"{order_id}:0"))
        for v in visits.values():
            lines.append(VisitLine(v.service, v.visit_type, v.booking_id, v.start, req.use_credits))
        return patient_id, lines, visits

    async def _check_visit(self, uow: PaymentsUnitOfWork, visit: Visit, patient_id: str) -> None:
        if visit.patient_id is None and visit.status != "held":
            raise BookingNotPayable(f"booking {visit.booking_id} has no patient")
        if visit.patient_id not in (None, patient_id):
            raise BookingNotPayable(f"no booking {visit.booking_id} of this patient to pay for")
        taken = await uow.orders.active_line(visit.booking_id)
        if taken is not None:
            raise BookingAlreadyInOrder(
                f"booking {visit.booking_id} is in payment {taken.order_id} already: pay or "
                "cancel that one",
                payment_id=taken.order_id,
            )

    async def _insert(
        self,
        uow: PaymentsUnitOfWork,
        actor: Actor,
        req: CheckoutRequest,
        patient_id: str,
        q: Quote,
        visits: dict[str, Visit],
        order_id: str,
        now: datetime,
    ) -> Order:
        quoted = quote_json(q)
        order = Order(
            id=order_id,
            patient_id=patient_id,
            status="open",
            currency=q.currency,
            quote=quoted,
            subtotal_cents=q.subtotal_cents or 0,
            discount_cents=q.discount_cents,
            total_cents=q.total_cents or 0,
            refunded_cents=0,
            method=req.method,
            tender=req.tender if req.method == "in_clinic" else None,
            provider=None,
            provider_id=None,
            promo_code=q.promotion_code,
            failure_code=None,
            created_by=actor.id[:80],
            created_at=now,
            updated_at=now,
        )
        lines = [
            OrderLine(
                order_id=order_id,
                booking_id=visit.booking_id,
                line_index=line["index"],
                service=visit.service,
                visit_type=visit.visit_type,
                practitioner=visit.practitioner,
                starts_at=visit.start,
                net_cents=line["total_cents"],
                credit_id=line["credit_id"],
                state="reserved" if visit.status == "held" else "confirmed",
            )
            for line in quoted["lines"]
            if line["kind"] == "visit" and (visit := visits.get(line.get("booking_id") or ""))
        ]
        await uow.orders.add(order, lines)
        for line in lines:
            credit_id = line.credit_id
            if credit_id is None or credit_id.startswith(f"{order_id}:"):
                continue  # no credit, or one this order buys (granted once it is paid)
            if not await uow.credits.reserve(credit_id, order_id, line.booking_id, now):
                raise CreditUnavailable(f"package credit {credit_id} was just used; try again")
        if q.promotion_code is not None:
            await uow.promo_uses.record(q.promotion_code, patient_id, order_id, now)
        self.guard.record(uow, actor, "create", order)
        return order

    def _description(self, order: Order) -> str:
        items = ", ".join(line["description"] for line in order.quote["lines"])
        return f"{self.catalog.clinic.name}: {items}"[:200]


def _patient(actor: Actor, req: CheckoutRequest, visits: list[Visit]) -> str:
    if actor.kind == "patient":
        assert actor.patient_id is not None
        if req.patient_id not in (None, actor.patient_id):
            raise InvalidRequest("patient_id: leave it out; you pay for your own visits")
        return actor.patient_id
    if req.patient_id:
        return req.patient_id
    owners = {v.patient_id for v in visits if v.patient_id}
    if len(owners) > 1:
        raise BookingNotPayable("these bookings belong to different patients: pay them apart")
    if owners:
        return owners.pop()
    raise InvalidRequest("patient_id: name the patient this order is for (a hold has none yet)")


def _down(order_id: str, method: str, others: list[str], exc: GatewayUnavailable) -> GatewayDown:
    why = (
        "its circuit is open after repeated failures"
        if isinstance(exc, GatewayCircuitOpen)
        else exc.detail
    )
    if others:
        advice = (
            f"pay the same order with {' or '.join(others)}: POST /v1/payments/{order_id}/method "
            f'with {{"method": "{others[0]}"}}'
        )
    else:
        advice = "try again in a minute"
    extra: dict[str, object] = {
        "payment_id": order_id,
        "alternatives": others,
        "unavailable": method,
    }
    if exc.retry_after is not None:
        extra["retry_after"] = exc.retry_after
    return GatewayDown(f"{method} is unavailable right now ({why}); {advice}", **extra)
