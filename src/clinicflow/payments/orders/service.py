"""An order once placed: reading it, paying it another way (failover), capturing an
approved PayPal order, cancelling an unpaid one, staff's sync with the gateway when a
webhook was lost, and the billing codes staff add for a superbill. Each read of an order is
audited (it names a patient)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.checkout.service import CheckoutService
from clinicflow.payments.checkout.views import Checkout
from clinicflow.payments.domain import codes as billing_codes
from clinicflow.payments.domain.access import Need
from clinicflow.payments.domain.orders import SETTLED, UNPAID, Order
from clinicflow.payments.errors import (
    GatewayDown,
    InvalidCodes,
    PaymentDeclinedError,
    PaymentNotFound,
    PaymentStateConflict,
)
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.ledger.commands import Report
from clinicflow.payments.ledger.service import Settlement
from clinicflow.payments.orders.commands import LineCodes
from clinicflow.payments.orders.ports import LineChange
from clinicflow.payments.orders.views import OrderView
from clinicflow.payments.ports import (
    GatewayRejected,
    GatewayUnavailable,
    PaymentDeclined,
    PaymentsUnitOfWork,
)
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock


@dataclass(kw_only=True, eq=False)
class OrderService:
    uow: UnitsOfWork[PaymentsUnitOfWork]
    clock: Clock
    guard: PaymentGuard
    checkout: CheckoutService
    settlement: Settlement

    async def get(self, actor: Actor, order_id: str) -> OrderView:
        await self.guard.require(actor, Need.READ, order_id)
        view = await self.guard.denying(actor, Need.READ, lambda: self._load(actor, order_id))
        await self.guard.record_read(actor, view)
        return view

    async def of_booking(self, actor: Actor, booking_id: str) -> OrderView | None:
        """The order that pays for `booking_id` (its live line), or None when none does:
        the staff console's way from a visit to its payment. An order out of the caller's
        reach answers None too, so the answer says nothing about it; a read is audited."""
        await self.guard.require(actor, Need.READ)

        async def load() -> OrderView | None:
            async with self.uow.reading() as uow:
                line = await uow.orders.active_line(booking_id)
                if line is None:
                    return None
                view = await OrderView.load(uow, line.order_id)
            self.guard.check(actor, Need.READ, view)
            return view

        try:
            found = await self.guard.denying(actor, Need.READ, load)
        except PaymentNotFound:
            return None
        if found is not None:
            await self.guard.record_read(actor, found)
        return found

    async def _load(self, actor: Actor, order_id: str) -> OrderView:
        async with self.uow.reading() as uow:
            view = await OrderView.load(uow, order_id)
        self.guard.check(actor, Need.READ, view)
        return view

    async def pay_with(
        self, actor: Actor, order_id: str, method: str, tender: str | None, fallback: bool
    ) -> Checkout:
        """The same order, another method: after a gateway outage, or at the front desk."""
        need = Need.IN_CLINIC if method == "in_clinic" else Need.PAY
        await self.guard.require(actor, need, order_id)
        self.checkout.check_method(method, tender)
        return await self.guard.denying(
            actor, need, lambda: self._switch(actor, need, order_id, method, tender, fallback)
        )

    async def _switch(
        self,
        actor: Actor,
        need: Need,
        order_id: str,
        method: str,
        tender: str | None,
        fallback: bool,
    ) -> Checkout:
        order = await self._order(actor, need, order_id)
        if order.status not in UNPAID:
            raise PaymentStateConflict(f"the payment is {order.status}; nothing left to pay")
        if order.provider is not None and order.provider_id is not None:
            await self._give_up(order.provider, order.provider_id)
        now = self.clock.now()
        async with self.uow() as uow:
            await uow.orders.get(order_id, lock=True)
            order = await uow.orders.change(
                order_id,
                {
                    "provider": None,
                    "provider_id": None,
                    "status": "open",
                    "method": method,
                    "tender": tender,
                },
            )
            if method == "in_clinic":
                await self.settlement.mark_paid(uow, order, actor, now, "in_clinic", None)
            await uow.commit()
        if method == "in_clinic":
            await self.settlement.settle(order_id)
            return Checkout(await self.checkout.view(order_id))
        return await self.checkout.start(order_id, method, fallback)

    async def _give_up(self, provider: str, provider_id: str) -> None:
        """Cancel the earlier gateway payment, so the buyer cannot pay twice."""
        gateway = self.checkout.gateways[provider]
        try:
            await gateway.cancel(provider_id)
        except GatewayUnavailable as exc:
            raise GatewayDown(
                f"{provider} holds an unfinished payment for this order and cannot be reached "
                "to cancel it; try again in a minute",
            ) from exc
        except GatewayRejected as exc:
            raise PaymentStateConflict(
                f"the {provider} payment can no longer be canceled ({exc.detail}); it may have "
                "gone through: ask staff to sync it"
            ) from exc

    async def capture(self, actor: Actor, order_id: str) -> OrderView:
        """The buyer approved at PayPal: take the money (the gateway's answer is the proof)."""
        await self.guard.require(actor, Need.PAY, order_id)
        return await self.guard.denying(actor, Need.PAY, lambda: self._capture(actor, order_id))

    async def _capture(self, actor: Actor, order_id: str) -> OrderView:
        order = await self._order(actor, Need.PAY, order_id)
        if order.status in SETTLED:
            return await self.checkout.view(order_id)
        if order.provider is None or order.provider_id is None:
            raise PaymentStateConflict("nothing to capture: the payment was not started")
        gateway = self.checkout.gateways[order.provider]
        key = f"capture:{order.id}:{order.failure_code or 'first'}"
        try:
            payment = await gateway.capture(order.provider_id, key)
        except GatewayUnavailable as exc:
            raise GatewayDown(f"{order.provider} is unavailable; capture again shortly") from exc
        except PaymentDeclined as exc:
            failed = Report(order.provider, order.provider_id, "failed", None, None, None, exc.code)
            await self.settlement.apply(failed, actor, order_id=order_id)
            raise PaymentDeclinedError(
                f"declined at capture ({exc.code}): approve again with another funding source"
            ) from exc
        except GatewayRejected as exc:
            raise PaymentStateConflict(f"cannot capture yet: {exc.detail}") from exc
        await self.settlement.apply(Report.of_payment(payment), actor, order_id=order_id)
        return await self.checkout.view(order_id)

    async def cancel(self, actor: Actor, order_id: str) -> OrderView:
        await self.guard.require(actor, Need.PAY, order_id)
        return await self.guard.denying(actor, Need.PAY, lambda: self._cancel(actor, order_id))

    async def _cancel(self, actor: Actor, order_id: str) -> OrderView:
        order = await self._order(actor, Need.PAY, order_id)
        if order.status not in UNPAID:
            raise PaymentStateConflict(
                f"the payment is {order.status}; a paid payment is refunded, not canceled"
            )
        if order.provider is not None and order.provider_id is not None:
            await self._give_up(order.provider, order.provider_id)
        report = Report(order.provider or order.method, order.provider_id, "canceled", None, None)
        await self.settlement.apply(report, actor, order_id=order_id)
        return await self.checkout.view(order_id)

    async def sync(self, actor: Actor, order_id: str) -> OrderView:
        """Staff: ask the gateway (a webhook may have been lost), then finish what is due."""
        await self.guard.require(actor, Need.MANAGE, order_id)
        return await self.guard.denying(actor, Need.MANAGE, lambda: self._sync(actor, order_id))

    async def _sync(self, actor: Actor, order_id: str) -> OrderView:
        order = await self._order(actor, Need.MANAGE, order_id)
        gateway = self.checkout.gateways.get(order.provider or "")
        if gateway is not None and order.provider_id is not None and order.status not in SETTLED:
            try:
                payment = await gateway.retrieve(order.provider_id)
            except GatewayUnavailable as exc:
                raise GatewayDown(f"{order.provider} is unavailable; sync again shortly") from exc
            await self.settlement.apply(Report.of_payment(payment), actor, order_id=order_id)
        await self.settlement.settle(order_id)
        return await self.checkout.view(order_id)

    async def set_codes(self, actor: Actor, order_id: str, given: Sequence[LineCodes]) -> OrderView:
        """Staff: CPT/HCPCS and ICD-10-CM codes per visit, for a superbill."""
        await self.guard.require(actor, Need.CODES, order_id)
        _check(given)
        return await self.guard.denying(
            actor, Need.CODES, lambda: self._set_codes(actor, order_id, given)
        )

    async def _set_codes(
        self, actor: Actor, order_id: str, given: Sequence[LineCodes]
    ) -> OrderView:
        async with self.uow() as uow:
            order = await uow.orders.get(order_id, lock=True)
            self.guard.check(actor, Need.CODES, order)
            lines = {x.booking_id for x in await uow.orders.lines(order_id)}
            for item in given:
                if item.booking_id not in lines:
                    raise InvalidCodes(f"booking {item.booking_id} is not paid by this payment")
                change: LineChange = {
                    "cpt_codes": [billing_codes.normalize(c) for c in item.cpt],
                    "icd10_codes": [billing_codes.normalize(c) for c in item.icd10],
                }
                await uow.orders.change_line(order_id, item.booking_id, change)
            self.guard.record(uow, actor, "set_codes", order)
            view = await OrderView.load(uow, order_id)
            await uow.commit()
        return view

    async def _order(self, actor: Actor, need: Need, order_id: str) -> Order:
        async with self.uow.reading() as uow:
            order = await uow.orders.get(order_id)
        self.guard.check(actor, need, order)
        return order


def _check(given: Sequence[LineCodes]) -> None:
    problems = []
    for item in given:
        if bad := billing_codes.bad_cpt(list(item.cpt)):
            problems.append(f"{item.booking_id}: not CPT/HCPCS codes: {', '.join(bad)}")
        if bad := billing_codes.bad_icd10(list(item.icd10)):
            problems.append(f"{item.booking_id}: not ICD-10-CM codes: {', '.join(bad)}")
    if problems:
        raise InvalidCodes("; ".join(problems) + " (e.g. CPT 99203, ICD-10 E66.9)")
