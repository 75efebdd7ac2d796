"""A paid order's receipt: the order, its patient's name (a read of PHI, audited) and the
clinic's billing identity, as a `Receipt` (views.py) the routes render as HTML or PDF."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.catalog import Catalog
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.domain.access import Need
from clinicflow.payments.domain.orders import SETTLED
from clinicflow.payments.errors import PaymentStateConflict
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.orders.views import OrderView
from clinicflow.payments.ports import PaymentsUnitOfWork
from clinicflow.payments.receipts.views import Receipt, build_receipt
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock


@dataclass(kw_only=True, eq=False)
class ReceiptService:
    uow: UnitsOfWork[PaymentsUnitOfWork]
    clock: Clock
    catalog: Catalog
    guard: PaymentGuard

    async def receipt(self, actor: Actor, order_id: str) -> Receipt:
        await self.guard.require(actor, Need.READ, order_id)
        view = await self.guard.denying(actor, Need.READ, lambda: self._load(actor, order_id))
        if view.status not in SETTLED:
            raise PaymentStateConflict(f"the payment is {view.status}: a receipt comes once paid")
        async with self.uow.reading() as uow:
            name = await uow.patient_names.full_name(view.patient_id)
        await self.guard.record_read(actor, view, "read_receipt")
        return build_receipt(view, self.catalog, name, self.clock.now())

    async def _load(self, actor: Actor, order_id: str) -> OrderView:
        async with self.uow.reading() as uow:
            view = await OrderView.load(uow, order_id)
        self.guard.check(actor, Need.READ, view)
        return view
