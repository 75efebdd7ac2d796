"""Refunds in SQL (`payments_refund`)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.payments.domain.refunds import Refund
from clinicflow.payments.ports import AlreadyStored
from clinicflow.payments.refunds.ports import RefundChange
from clinicflow.payments.tables import refunds

r = refunds.c


class SqlRefunds:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, refund_id: str) -> Refund:
        return refund_of((await self._conn.execute(select(refunds).where(r.id == refund_id))).one())

    async def by_key(self, key: str) -> Refund | None:
        row = (await self._conn.execute(select(refunds).where(r.idempotency_key == key))).first()
        return refund_of(row) if row is not None else None

    async def by_provider_id(self, provider: str, provider_refund_id: str) -> Refund | None:
        query = select(refunds).where(
            r.provider == provider, r.provider_refund_id == provider_refund_id
        )
        row = (await self._conn.execute(query)).first()
        return refund_of(row) if row is not None else None

    async def of_order(self, order_id: str) -> list[Refund]:
        query = select(refunds).where(r.order_id == order_id).order_by(r.created_at)
        return [refund_of(row) for row in (await self._conn.execute(query)).all()]

    async def add(self, refund: Refund) -> None:
        try:
            await self._conn.execute(insert(refunds).values(**asdict(refund)))
        except IntegrityError as exc:
            raise AlreadyStored(str(exc.orig)) from exc

    async def change(self, refund_id: str, change: RefundChange) -> Refund:
        statement = update(refunds).where(r.id == refund_id).values(**change).returning(refunds)
        return refund_of((await self._conn.execute(statement)).one())


def refund_of(row: Row[tuple[object, ...]]) -> Refund:
    m = row._mapping  # the table's columns are the refund's fields
    return Refund(**{**m, "credit_returned": bool(m["credit_returned"])})
