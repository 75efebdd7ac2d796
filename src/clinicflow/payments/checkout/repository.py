"""Uses of promotion codes in SQL (`payments_promo_use`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.payments.domain import PromoUsage
from clinicflow.payments.tables import promo_uses

pu = promo_uses.c


class SqlPromoUses:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def usage(self, code: str, patient_id: str | None) -> PromoUsage:
        total = (await self._conn.execute(select(func.count()).where(pu.code == code))).scalar_one()
        mine = 0
        if patient_id is not None:
            query = select(func.count()).where(pu.code == code, pu.patient_id == patient_id)
            mine = (await self._conn.execute(query)).scalar_one()
        return PromoUsage(int(total), int(mine))

    async def record(self, code: str, patient_id: str, order_id: str, now: datetime) -> None:
        values = {"code": code, "patient_id": patient_id, "order_id": order_id, "used_at": now}
        await self._conn.execute(insert(promo_uses).values(**values))

    async def release(self, order_id: str) -> None:
        await self._conn.execute(delete(promo_uses).where(pu.order_id == order_id))
