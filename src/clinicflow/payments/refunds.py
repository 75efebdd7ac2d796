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
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.payments import refund_steps as steps
from clinicflow.payments import repository as repo
from clinicflow.payments.domain.access import Need
from clinicflow.payments.errors import GatewayDown, GatewayFailed, RefundNotAllowed
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.idempotency import KeyedRequest, RequestKeys
from clinicflow.payments.ports import (
    BookingDesk,
    GatewayError,
    GatewayUnavailable,
    PaymentGateway,
)
from clinicflow.payments.refund_steps import RefundRequest
from clinicflow.payments.views import RefundView
from clinicflow.shared.actor import SYSTEM, Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

__all__ = ["RefundRequest", "RefundService"]


class RefundService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        desk: BookingDesk,
        guard: PaymentGuard,
        gateways: Mapping[str, PaymentGateway],
        *,
        keys: RequestKeys,
    ) -> None:
        self._keys = keys
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._desk = desk
        self._guard = guard
        self._gateways = gateways

    async def refund(
        self, actor: Actor, order_id: str, req: RefundRequest, key: str | None = None
    ) -> tuple[RefundView, bool]:
        """Staff: a visit by the policy (or an override), or the whole order. With `key`
        (idempotency.py), and whether it answers an earlier request with that key."""
        await self._guard.require(actor, Need.REFUND, order_id)
        if not req.reason.strip():
            raise InvalidRequest("reason: say why the payment is refunded")
        if key is None:
            at, gateway_key = self._clock.now(), f"refund:{uuid.uuid4()}"
            view = await self._guard.denying(
                actor, Need.REFUND, lambda: self._run(actor, order_id, req, gateway_key, at)
            )
            return view, False
        keyed = self._keys.keyed(actor, key, "refund", {"payment_id": order_id, **asdict(req)})
        return await self._guard.denying(
            actor, Need.REFUND, lambda: self._keyed(actor, order_id, req, keyed)
        )

    async def _keyed(
        self, actor: Actor, order_id: str, req: RefundRequest, keyed: KeyedRequest
    ) -> tuple[RefundView, bool]:
        gateway_key, at = self._keys.gateway_key(keyed), self._clock.now()
        for attempt in (1, 2):
            try:
                refund, order, replayed = await self._start(
                    actor, order_id, req, gateway_key, at, keyed
                )
                break
            except IntegrityError:
                # The same key stored at the same moment for another payment: the second
                # try finds it and refuses the reuse.
                if attempt == 2:
                    raise
        try:
            return await self._finish(actor, refund, order, gateway_key), replayed
        finally:
            await self._keys.release(self._db, keyed)

    async def after_visit(
        self, booking_id: str, status: str, at: datetime, key: str
    ) -> RefundView | None:
        """A paid visit was cancelled or missed: refund what the policy gives back, once."""
        async with self._db.read() as conn:
            line = await repo.active_line(conn, booking_id)
            if line is None or line.state != "confirmed":
                return None
            order = await repo.order(conn, line.order_id)
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
        await self._run(SYSTEM, order_id, req, key, self._clock.now())

    async def _run(
        self, actor: Actor, order_id: str, req: RefundRequest, key: str, at: datetime
    ) -> RefundView:
        refund, order, _ = await self._start(actor, order_id, req, key, at)
        return await self._finish(actor, refund, order, key)

    async def _finish(self, actor: Actor, refund: Any, order: Any, key: str) -> RefundView:
        """Ask the gateway (unless that was done already) and book what it answered."""
        if _booked(refund):
            return RefundView.of(refund)
        gateway = self._gateways.get(order.provider or "")
        provider_refund_id, status = None, "succeeded"
        if refund.amount_cents > 0 and gateway is not None:
            try:
                made = await gateway.refund(order.provider_id, refund.amount_cents, key)
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
    ) -> tuple[Any, Any, bool]:
        """The refund recorded as pending (or the one this key started before, and True)."""
        now = self._clock.now()
        async with self._db.write() as conn:
            order = await repo.order(conn, order_id, lock=True)
            self._guard.check(actor, Need.REFUND, order)
            if keyed is not None and not await self._keys.claim(conn, keyed, now):
                await self._keys.remember(conn, keyed, order_id, now)
            existing = await repo.refund_by_key(conn, key)
            if existing is not None:
                if existing.status == "failed":  # the same refund, tried again
                    values = {"status": "pending", "updated_at": now}
                    existing = await repo.update_refund(conn, existing.id, values)
                if keyed is not None:
                    await self._guard.record(conn, actor, "read", order)
                return existing, order, True
            line, decision = await steps.decide(conn, self._catalog, self._desk, order, req, at)
            rule = req.rule or decision.rule.value
            values = steps.new_refund(order, line, decision, rule, key, actor.id[:80], now)
            refund = await repo.insert_refund(conn, values)
            await self._guard.record(conn, actor, "refund", order)
        return refund, order, False

    async def _failed(self, refund_id: str) -> None:
        async with self._db.write() as conn:
            values = {"status": "failed", "updated_at": self._clock.now()}
            await repo.update_refund(conn, refund_id, values)

    async def _book(
        self,
        actor: Actor,
        order_id: str,
        refund_id: str,
        provider_refund_id: str | None,
        status: str,
    ) -> RefundView:
        now = self._clock.now()
        async with self._db.write() as conn:
            order = await repo.order(conn, order_id, lock=True)  # first, as _start locks
            current = await repo.refund(conn, refund_id)
            if _booked(current):
                # A duplicate whose claim had lapsed booked it meanwhile: the ledger has it once.
                return RefundView.of(current)
            values = {"status": status, "provider_refund_id": provider_refund_id, "updated_at": now}
            refund = await repo.update_refund(conn, refund_id, values)
            await steps.book(conn, order, refund, actor.id[:80], now)
        return RefundView.of(refund)


def _booked(refund: Any) -> bool:
    """Whether the gateway's answer (or, with no money to move, the refund) is booked."""
    return bool(refund.status == "succeeded" or refund.provider_refund_id is not None)
