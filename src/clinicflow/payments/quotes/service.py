"""Pricing with what the database knows: the patient's package credits, a promotion code's
past uses and whether the patient has visited before are read in the caller's unit of work,
then the pure `quote()` (domain/pricing.py) decides. `quote_json` (domain/quotes.py) is the
itemized breakdown, as stored on an order and answered by POST /v1/quotes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.infra.audit_trail import Access
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.domain import Line, Quote, VisitLine, quote
from clinicflow.payments.domain.access import Need, role_may
from clinicflow.payments.domain.promotions import find
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.ports import PaymentsUnitOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Forbidden


@dataclass(kw_only=True, eq=False)
class Quoter:
    catalog: Catalog  # the live one: a launched service reads as active
    launches: Callable[[], Awaitable[None]] | None = None  # brings it up to date before a quote

    async def quote(
        self,
        uow: PaymentsUnitOfWork,
        lines: Sequence[Line],
        patient_id: str | None,
        promo_code: str | None,
        now: datetime,
        *,
        use_credits: bool = True,
    ) -> Quote:
        if self.launches is not None:  # a launch from another replica counts as well
            await self.launches()
        promotion = find(self.catalog.payments.promotions, promo_code) if promo_code else None
        usage = None
        if promotion is not None:
            usage = await uow.promo_uses.usage(promotion.code, patient_id)
        credits = await uow.credits.of_patient(patient_id) if patient_id and use_credits else ()
        returning = None
        if promotion is not None and promotion.new_patients_only and patient_id:
            paying = [x.booking_id for x in lines if isinstance(x, VisitLine) and x.booking_id]
            returning = await uow.visits.visited_before(patient_id, paying)
        return quote(
            lines,
            catalog=self.catalog,
            now=now,
            promotion=promotion,
            promo_usage=usage,
            credits=credits,
            returning_patient=returning,
        )


@dataclass(kw_only=True, eq=False)
class QuoteService:
    uow: UnitsOfWork[PaymentsUnitOfWork]
    clock: Clock
    guard: PaymentGuard
    quoter: Quoter

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
        now = self.clock.now()
        async with self.uow.reading() as uow:
            q = await self.quoter.quote(
                uow, lines, patient_id, promo_code, now, use_credits=use_credits
            )
        if patient_id is not None:
            credits = Access("payment_credits", patient_id, patient_id)
            await self.guard.trail.record_alone(actor, "quote", [credits])
        return q
