"""Freed-slot offers in SQL."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Executable, RowMapping, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.waitlist.domain.links import Offer
from clinicflow.waitlist.offers.ports import Candidate
from clinicflow.waitlist.tables import entries, offers

o = offers.c


def offer_of(row: RowMapping) -> Offer:
    return Offer(**row)


class SqlOffers:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def by_token(self, token_hash: str, *, lock: bool = False) -> Offer | None:
        query = select(offers).where(o.token_hash == token_hash)
        if lock:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else offer_of(row)

    async def add(self, offer: Offer) -> None:
        await self._conn.execute(insert(offers).values(asdict(offer)))

    async def set_status(
        self,
        offer_id: str,
        from_: Collection[str],
        to: str,
        now: datetime,
        *,
        booking_id: str | None = None,
    ) -> bool:
        values: dict[str, object] = {"status": to, "status_at": now}
        if booking_id is not None:
            values["booking_id"] = booking_id
        result = await self._conn.execute(
            update(offers).where(o.id == offer_id, o.status.in_(list(from_))).values(values)
        )
        return bool(result.rowcount)

    async def candidates(
        self, service: str, practitioner: str, hold_id: str, not_patient: str | None
    ) -> list[Candidate]:
        e = entries.c
        tried = exists().where(o.entry_id == e.id, o.hold_id == hold_id)
        query = select(e.id, e.preferred_practitioner, e.preferred_times, e.patient_id).where(
            e.service == service,
            e.status == "waiting",
            or_(e.preferred_practitioner.is_(None), e.preferred_practitioner == practitioner),
            ~tried,
        )
        if not_patient is not None:
            query = query.where(or_(e.patient_id.is_(None), e.patient_id != not_patient))
        return [Candidate(**r) for r in (await self._conn.execute(query)).mappings()]

    async def due(self, now: datetime, limit: int) -> list[Offer]:
        return await self._all(
            select(offers)
            .where(o.status == "made", o.expires_at <= now)
            .order_by(o.expires_at, o.id)
            .limit(limit)
            .with_for_update()
        )

    async def stale_claims(self, before: datetime, limit: int) -> list[Offer]:
        return await self._all(
            select(offers).where(o.status == "claiming", o.status_at <= before).limit(limit)
        )

    async def live_of(self, entry_id: str) -> list[Offer]:
        return await self._all(select(offers).where(o.entry_id == entry_id, o.status == "made"))

    async def _all(self, query: Executable) -> list[Offer]:
        return [offer_of(r) for r in (await self._conn.execute(query)).mappings()]
