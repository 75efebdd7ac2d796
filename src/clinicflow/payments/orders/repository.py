"""Orders and their visit lines in SQL (`payments_order`, `payments_order_booking`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.payments.domain.orders import Order, OrderLine
from clinicflow.payments.errors import PaymentNotFound
from clinicflow.payments.orders.ports import LineChange, OrderChange
from clinicflow.payments.ports import AlreadyStored
from clinicflow.payments.tables import LINE_ACTIVE, order_bookings, orders

o, ob = orders.c, order_bookings.c


class SqlOrders:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, order_id: str, *, lock: bool = False) -> Order:
        query = select(orders).where(o.id == order_id)
        if lock:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            raise PaymentNotFound(f"no payment {order_id!r}")
        return order_of(row)

    async def reported(
        self, provider: str, provider_id: str | None, order_id: str | None
    ) -> Order | None:
        if provider_id:
            query = select(orders).where(o.provider == provider, o.provider_id == provider_id)
            row = (await self._conn.execute(query.with_for_update())).first()
            if row is not None:
                return order_of(row)
        if order_id and len(order_id) <= 36:
            query = select(orders).where(o.id == order_id, o.provider == provider)
            row = (await self._conn.execute(query.with_for_update())).first()
            return order_of(row) if row is not None else None
        return None

    async def add(self, order: Order, lines: Sequence[OrderLine]) -> None:
        values = asdict(order)
        try:
            await self._conn.execute(insert(orders).values(**values))
            for line in lines:
                row = asdict(line)
                row["cpt_codes"] = list(line.cpt_codes) if line.cpt_codes else None
                row["icd10_codes"] = list(line.icd10_codes) if line.icd10_codes else None
                await self._conn.execute(insert(order_bookings).values(**row))
        except IntegrityError as exc:
            raise AlreadyStored(str(exc.orig)) from exc

    async def change(self, order_id: str, change: OrderChange) -> Order:
        statement = update(orders).where(o.id == order_id).values(**change).returning(orders)
        return order_of((await self._conn.execute(statement)).one())

    async def lines(self, order_id: str) -> list[OrderLine]:
        query = select(order_bookings).where(ob.order_id == order_id).order_by(ob.line_index)
        return [line_of(row) for row in (await self._conn.execute(query)).all()]

    async def active_line(self, booking_id: str) -> OrderLine | None:
        # Each side states the partial unique index's own condition (a bound "released"
        # matches no index's): the database looks both ids up by index, where it read
        # every line ever paid (every checkout and refund asks).
        query = select(order_bookings).where(
            or_(
                and_(ob.booking_id == booking_id, LINE_ACTIVE),
                and_(ob.confirmed_booking_id == booking_id, LINE_ACTIVE),
            )
        )
        row = (await self._conn.execute(query)).first()
        return line_of(row) if row is not None else None

    async def change_line(self, order_id: str, booking_id: str, change: LineChange) -> None:
        await self._conn.execute(
            update(order_bookings)
            .where(ob.order_id == order_id, ob.booking_id == booking_id)
            .values(**change)
        )

    async def release_lines(self, order_id: str) -> None:
        await self._conn.execute(
            update(order_bookings).where(ob.order_id == order_id).values(state="released")
        )


def order_of(row: Row[tuple[object, ...]]) -> Order:
    return Order(**row._mapping)  # the table's columns are the order's fields


def line_of(row: Row[tuple[object, ...]]) -> OrderLine:
    r = row._mapping
    codes = {"cpt_codes": tuple(r["cpt_codes"] or ()), "icd10_codes": tuple(r["icd10_codes"] or ())}
    return OrderLine(**{**r, **codes})
