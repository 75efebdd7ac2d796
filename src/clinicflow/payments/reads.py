"""Reading payments: an order, its receipt, revenue; quotes; and the billing codes staff
add for a superbill. Each read of an order is audited (it names a patient)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.infra.audit_trail import Access
from clinicflow.infra.db import Database
from clinicflow.payments import queries
from clinicflow.payments import repository as repo
from clinicflow.payments.domain import Line, Quote
from clinicflow.payments.domain import codes as billing_codes
from clinicflow.payments.domain.access import Need, role_may
from clinicflow.payments.domain.orders import SETTLED
from clinicflow.payments.errors import InvalidCodes, PaymentStateConflict
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.ports import PatientNames
from clinicflow.payments.quoting import Quoter
from clinicflow.payments.receipts import Receipt, build_receipt
from clinicflow.payments.views import OrderView, RevenueRow
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Forbidden


@dataclass(frozen=True, slots=True)
class LineCodes:
    booking_id: str
    cpt: tuple[str, ...]
    icd10: tuple[str, ...]


class PaymentReader:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        guard: PaymentGuard,
        quoter: Quoter,
        names: PatientNames,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._guard = guard
        self._quoter = quoter
        self._names = names

    async def quote(
        self,
        actor: Actor,
        lines: Sequence[Line],
        promo_code: str | None,
        patient_id: str | None,
        use_credits: bool,
    ) -> Quote:
        """Anyone may price an order; a patient's credits and code uses count for the
        patient themself, or when staff who may read payments name the patient."""
        if actor.kind == "patient":
            patient_id = actor.patient_id
        elif patient_id is not None and not role_may(actor, Need.READ):
            raise Forbidden("patient_id: your role may not price for a named patient")
        async with self._db.read() as conn:
            q = await self._quoter.quote(
                conn, lines, patient_id, promo_code, self._clock.now(), use_credits=use_credits
            )
        if patient_id is not None:
            credits = Access("payment_credits", patient_id, patient_id)
            await self._guard.trail.record_alone(actor, "quote", [credits])
        return q

    async def get(self, actor: Actor, order_id: str) -> OrderView:
        await self._guard.require(actor, Need.READ, order_id)
        view = await self._guard.denying(actor, Need.READ, lambda: self._load(actor, order_id))
        await self._guard.record_read(actor, view)
        return view

    async def receipt(self, actor: Actor, order_id: str) -> Receipt:
        await self._guard.require(actor, Need.READ, order_id)
        view = await self._guard.denying(actor, Need.READ, lambda: self._load(actor, order_id))
        if view.status not in SETTLED:
            raise PaymentStateConflict(f"the payment is {view.status}: a receipt comes once paid")
        async with self._db.read() as conn:
            name = await self._names.full_name(conn, view.patient_id)
        await self._guard.record_read(actor, view, "read_receipt")
        return build_receipt(view, self._catalog, name, self._clock.now())

    async def revenue(self, actor: Actor, lo: datetime, hi: datetime) -> list[RevenueRow]:
        await self._guard.require(actor, Need.REVENUE)
        async with self._db.read() as conn:
            return await queries.revenue(conn, lo, hi, self._catalog.clinic.tz)

    async def set_codes(self, actor: Actor, order_id: str, given: Sequence[LineCodes]) -> OrderView:
        await self._guard.require(actor, Need.CODES, order_id)
        _check(given)
        return await self._guard.denying(
            actor, Need.CODES, lambda: self._set_codes(actor, order_id, given)
        )

    async def _set_codes(
        self, actor: Actor, order_id: str, given: Sequence[LineCodes]
    ) -> OrderView:
        async with self._db.write() as conn:
            order = await repo.order(conn, order_id, lock=True)
            self._guard.check(actor, Need.CODES, order)
            lines = {x.booking_id: x for x in await repo.lines(conn, order_id)}
            for item in given:
                if item.booking_id not in lines:
                    raise InvalidCodes(f"booking {item.booking_id} is not paid by this payment")
                values = {
                    "cpt_codes": [billing_codes.normalize(c) for c in item.cpt],
                    "icd10_codes": [billing_codes.normalize(c) for c in item.icd10],
                }
                await repo.update_line(conn, order_id, item.booking_id, values)
            await self._guard.record(conn, actor, "set_codes", order)
            return await queries.order_view(conn, order_id)

    async def _load(self, actor: Actor, order_id: str) -> OrderView:
        async with self._db.read() as conn:
            view = await queries.order_view(conn, order_id)
        self._guard.check(actor, Need.READ, view)
        return view


def _check(given: Sequence[LineCodes]) -> None:
    problems = []
    for item in given:
        if bad := billing_codes.bad_cpt(list(item.cpt)):
            problems.append(f"{item.booking_id}: not CPT/HCPCS codes: {', '.join(bad)}")
        if bad := billing_codes.bad_icd10(list(item.icd10)):
            problems.append(f"{item.booking_id}: not ICD-10-CM codes: {', '.join(bad)}")
    if problems:
        raise InvalidCodes("; ".join(problems) + " (e.g. CPT 99203, ICD-10 E66.9)")
