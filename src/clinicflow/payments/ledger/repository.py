"""The ledger and package credits in SQL. The ledger is only ever inserted into (`append`);
nothing here updates or deletes an entry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.payments.domain import Credit
from clinicflow.payments.domain.ledger import Entry
from clinicflow.payments.tables import credit_uses, credits, ledger

lc, c, cu = ledger.c, credits.c, credit_uses.c


class SqlLedgerEntries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, entries: Sequence[Entry]) -> int:
        # One multi-row INSERT: every row names the same columns (the dataclass's fields).
        return await insert_ignoring_duplicates(self._conn, ledger, [asdict(e) for e in entries])

    async def refunded_by_line(self, order_id: str) -> dict[int, int]:
        query = (
            select(lc.line_index, func.sum(lc.amount_cents))
            .where(lc.order_id == order_id, lc.kind == "refund", lc.line_index.is_not(None))
            .group_by(lc.line_index)
        )
        return {int(i): -int(total or 0) for i, total in (await self._conn.execute(query)).all()}


class SqlCredits:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_patient(self, patient_id: str) -> tuple[Credit, ...]:
        query = select(credits).where(c.patient_id == patient_id).order_by(c.expires_at, c.id)
        return tuple(
            Credit(r.id, r.package, r.service, r.visit_type, r.granted, r.remaining, r.expires_at)
            for r in (await self._conn.execute(query)).all()
        )

    async def add(
        self, granted: Sequence[Credit], patient_id: str, order_id: str, now: datetime
    ) -> None:
        rows = [
            {
                "id": g.id,
                "patient_id": patient_id,
                "order_id": order_id,
                "package": g.package,
                "service": g.service,
                "visit_type": g.visit_type,
                "granted": g.granted,
                "remaining": g.remaining,
                "expires_at": g.expires_at,
                "created_at": now,
                "updated_at": now,
            }
            for g in granted
        ]
        await insert_ignoring_duplicates(self._conn, credits, rows)

    async def reserve(self, credit_id: str, order_id: str, booking_id: str, now: datetime) -> bool:
        taken = await self._conn.execute(
            update(credits)
            .where(c.id == credit_id, c.remaining > 0)
            .values(remaining=c.remaining - 1, updated_at=now)
        )
        if taken.rowcount != 1:
            return False
        await self._use(credit_id, order_id, booking_id, "reserved", now)
        return True

    async def use(self, credit_id: str, order_id: str, booking_id: str, now: datetime) -> None:
        await self._use(credit_id, order_id, booking_id, "used", now)

    async def _use(
        self, credit_id: str, order_id: str, booking_id: str, state: str, at: datetime
    ) -> None:
        values = {
            "credit_id": credit_id,
            "order_id": order_id,
            "booking_id": booking_id,
            "state": state,
            "at": at,
        }
        await self._conn.execute(insert(credit_uses).values(**values))

    async def settle_uses(self, order_id: str, state: str, now: datetime) -> list[str]:
        result = await self._conn.execute(
            update(credit_uses)
            .where(cu.order_id == order_id, cu.state == "reserved")
            .values(state=state, at=now)
            .returning(cu.credit_id)
        )
        return [str(credit_id) for credit_id in result.scalars().all()]

    async def return_use(self, order_id: str, booking_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(credit_uses)
            .where(cu.order_id == order_id, cu.booking_id == booking_id)
            .values(state="returned", at=now)
        )

    async def give_back(self, credit_ids: Iterable[str], now: datetime) -> None:
        for credit_id in credit_ids:
            await self._conn.execute(
                update(credits)
                .where(c.id == credit_id, c.remaining < c.granted)
                .values(remaining=c.remaining + 1, updated_at=now)
            )

    async def revoke(self, order_id: str, now: datetime) -> int:
        query = select(func.coalesce(func.sum(c.remaining), 0)).where(c.order_id == order_id)
        left = int((await self._conn.execute(query)).scalar_one())
        await self._conn.execute(
            update(credits).where(c.order_id == order_id).values(remaining=0, updated_at=now)
        )
        return left
