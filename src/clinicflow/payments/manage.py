"""What follows a checkout: paying the same order another way (failover), capturing an
approved PayPal order, cancelling an unpaid order, and staff's sync with the gateway when
a webhook was lost."""

from __future__ import annotations

from typing import Any

from clinicflow.infra.db import Database
from clinicflow.payments import repository as repo
from clinicflow.payments.checkout import CheckoutService
from clinicflow.payments.domain.access import Need
from clinicflow.payments.domain.orders import SETTLED, UNPAID
from clinicflow.payments.errors import (
    GatewayDown,
    PaymentDeclinedError,
    PaymentStateConflict,
)
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.ports import (
    GatewayRejected,
    GatewayUnavailable,
    PaymentDeclined,
)
from clinicflow.payments.settlement import Report, Settlement
from clinicflow.payments.views import Checkout, OrderView
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock


class PaymentDesk:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        guard: PaymentGuard,
        checkout: CheckoutService,
        settlement: Settlement,
    ) -> None:
        self._db = db
        self._clock = clock
        self._guard = guard
        self._checkout = checkout
        self._settlement = settlement

    async def pay_with(
        self, actor: Actor, order_id: str, method: str, tender: str | None, fallback: bool
    ) -> Checkout:
        """The same order, another method: after a gateway outage, or at the front desk."""
        need = Need.IN_CLINIC if method == "in_clinic" else Need.PAY
        await self._guard.require(actor, need, order_id)
        self._checkout.check_method(method, tender)
        return await self._guard.denying(
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
        if order.provider_id is not None:
            await self._give_up(order.provider, order.provider_id)
        now = self._clock.now()
        async with self._db.write() as conn:
            order = await repo.order(conn, order_id, lock=True)
            values = {"provider": None, "provider_id": None, "status": "open", "method": method}
            order = await repo.update_order(conn, order_id, values | {"tender": tender})
            if method == "in_clinic":
                await self._settlement.mark_paid(conn, order, actor, now, "in_clinic", None)
        if method == "in_clinic":
            await self._settlement.settle(order_id)
            return Checkout(await self._checkout.view(order_id))
        return await self._checkout.start(order_id, method, fallback)

    async def _give_up(self, provider: str, provider_id: str) -> None:
        """Cancel the earlier gateway payment, so the buyer cannot pay twice."""
        gateway = self._checkout.gateways[provider]
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
        await self._guard.require(actor, Need.PAY, order_id)
        return await self._guard.denying(actor, Need.PAY, lambda: self._capture(actor, order_id))

    async def _capture(self, actor: Actor, order_id: str) -> OrderView:
        order = await self._order(actor, Need.PAY, order_id)
        if order.status in SETTLED:
            return await self._checkout.view(order_id)
        if order.provider_id is None:
            raise PaymentStateConflict("nothing to capture: the payment was not started")
        gateway = self._checkout.gateways[order.provider]
        key = f"capture:{order.id}:{order.failure_code or 'first'}"
        try:
            payment = await gateway.capture(order.provider_id, key)
        except GatewayUnavailable as exc:
            raise GatewayDown(f"{order.provider} is unavailable; capture again shortly") from exc
        except PaymentDeclined as exc:
            failed = Report(order.provider, order.provider_id, "failed", None, None, None, exc.code)
            await self._settlement.apply(failed, actor, order_id=order_id)
            raise PaymentDeclinedError(
                f"declined at capture ({exc.code}): approve again with another funding source"
            ) from exc
        except GatewayRejected as exc:
            raise PaymentStateConflict(f"cannot capture yet: {exc.detail}") from exc
        await self._settlement.apply(Report.of_payment(payment), actor, order_id=order_id)
        return await self._checkout.view(order_id)

    async def cancel(self, actor: Actor, order_id: str) -> OrderView:
        await self._guard.require(actor, Need.PAY, order_id)
        return await self._guard.denying(actor, Need.PAY, lambda: self._cancel(actor, order_id))

    async def _cancel(self, actor: Actor, order_id: str) -> OrderView:
        order = await self._order(actor, Need.PAY, order_id)
        if order.status not in UNPAID:
            raise PaymentStateConflict(
                f"the payment is {order.status}; a paid payment is refunded, not canceled"
            )
        if order.provider_id is not None:
            await self._give_up(order.provider, order.provider_id)
        report = Report(order.provider or order.method, order.provider_id, "canceled", None, None)
        await self._settlement.apply(report, actor, order_id=order_id)
        return await self._checkout.view(order_id)

    async def sync(self, actor: Actor, order_id: str) -> OrderView:
        """Staff: ask the gateway (a webhook may have been lost), then finish what is due."""
        await self._guard.require(actor, Need.MANAGE, order_id)
        return await self._guard.denying(actor, Need.MANAGE, lambda: self._sync(actor, order_id))

    async def _sync(self, actor: Actor, order_id: str) -> OrderView:
        order = await self._order(actor, Need.MANAGE, order_id)
        gateway = self._checkout.gateways.get(order.provider or "")
        if gateway is not None and order.provider_id is not None and order.status not in SETTLED:
            try:
                payment = await gateway.retrieve(order.provider_id)
            except GatewayUnavailable as exc:
                raise GatewayDown(f"{order.provider} is unavailable; sync again shortly") from exc
            await self._settlement.apply(Report.of_payment(payment), actor, order_id=order_id)
        await self._settlement.settle(order_id)
        return await self._checkout.view(order_id)

    async def _order(self, actor: Actor, need: Need, order_id: str) -> Any:
        async with self._db.read() as conn:
            order = await repo.order(conn, order_id)
        self._guard.check(actor, need, order)
        return order
