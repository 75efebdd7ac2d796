"""Pricing against the database: the patient's package credits and a code's past uses are
loaded here, then the pure `quote()` decides. `quote_json` is the itemized breakdown as
stored on an order and answered by POST /v1/quotes (prices and service names, no PHI)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog import Catalog
from clinicflow.payments import repository as repo
from clinicflow.payments.domain import Line, PackageLine, Quote, QuoteLine, VisitLine, quote
from clinicflow.payments.domain.promotions import find
from clinicflow.payments.ports import BookingDesk


class Quoter:
    def __init__(
        self,
        catalog: Catalog,
        desk: BookingDesk,
        launches: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._catalog = catalog  # the live catalog: a launched service reads as active
        self._desk = desk
        self._launches = launches

    async def quote(
        self,
        conn: AsyncConnection,
        lines: Sequence[Line],
        patient_id: str | None,
        promo_code: str | None,
        now: datetime,
        *,
        use_credits: bool = True,
    ) -> Quote:
        if self._launches is not None:  # a launch from another replica counts as well
            await self._launches()
        promotion = find(self._catalog.payments.promotions, promo_code) if promo_code else None
        usage = None
        if promotion is not None:
            usage = await repo.promo_usage(conn, promotion.code, patient_id)
        credits = await repo.patient_credits(conn, patient_id) if patient_id and use_credits else ()
        returning = None
        if promotion is not None and promotion.new_patients_only and patient_id:
            paying = [x.booking_id for x in lines if isinstance(x, VisitLine) and x.booking_id]
            returning = await self._desk.visited_before(conn, patient_id, paying)
        return quote(
            lines,
            catalog=self._catalog,
            now=now,
            promotion=promotion,
            promo_usage=usage,
            credits=credits,
            returning_patient=returning,
        )


def quote_json(q: Quote) -> dict[str, Any]:
    return {
        "currency": q.currency,
        "priceable": q.priceable,
        "lines": [_line(line) for line in q.lines],
        "discounts": [
            {
                "kind": d.kind.value,
                "code": d.code,
                "description": d.description,
                "base_cents": d.base_cents,
                "amount_cents": d.amount_cents,
            }
            for d in q.discounts
        ],
        "notes": list(q.notes),
        "unpriceable": [
            {"line": u.index, "item": u.item, "reason": u.reason, "text": str(u)}
            for u in q.unpriceable
        ],
        "promotion_code": q.promotion_code,
        "subtotal_cents": q.subtotal_cents,
        "discount_cents": q.discount_cents,
        "total_cents": q.total_cents,
    }


def _line(q: QuoteLine) -> dict[str, Any]:
    base: dict[str, Any] = {
        "index": q.index,
        "description": q.description,
        "unit_cents": q.unit_cents,
        "credit_id": q.credit_id,
        "subtotal_cents": q.subtotal_cents,
        "discount_cents": q.discount_cents,
        "total_cents": q.total_cents,
        "hsa_fsa_eligible": q.hsa_fsa_eligible,
    }
    if isinstance(q.line, PackageLine):
        return base | {"kind": "package", "package": q.line.package, "service": None}
    assert isinstance(q.line, VisitLine)
    return base | {
        "kind": "visit",
        "service": q.line.service,
        "visit_type": q.line.visit_type,
        "booking_id": q.line.booking_id,
    }


def ledger_service(line: dict[str, Any]) -> str:
    """What revenue is counted under: the service, or package:<key> for a purchase."""
    return str(line["service"]) if line["kind"] == "visit" else f"package:{line['package']}"
