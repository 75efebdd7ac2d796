"""What the booking API's end-to-end tests (tests/integration/test_booking_api_*.py) share: a
start inside Wednesday's 10:00 visit, the rows of a table counted, and the types of the
events in the outbox in the order they were written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from clinicflow.bootstrap import Container
from clinicflow.infra.outbox import outbox

WED_1015 = "2026-11-25T10:15:00-06:00"


async def count_rows(container: Container, table: Any, *where: Any) -> int:
    async with container.db.read() as conn:
        query = select(func.count()).select_from(table).where(*where)
        return int((await conn.execute(query)).scalar_one())


async def event_types(container: Container) -> list[str]:
    async with container.db.read() as conn:
        return list((await conn.execute(select(outbox.c.type).order_by(outbox.c.id))).scalars())
