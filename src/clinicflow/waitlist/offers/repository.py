"""Freed-slot offers in SQL."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import exists, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.waitlist.conversions.repository import SqlLinks
from clinicflow.waitlist.domain.links import Offer
from clinicflow.waitlist.offers.ports import Candidate
from clinicflow.waitlist.tables import entries, offers

o = offers.c


class SqlOffers(SqlLinks[Offer]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, offers, lambda row: Offer(**row))

    async def add(self, offer: Offer) -> None:
        await self._conn.execute(insert(offers).values(asdict(offer)))

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

    async def live_of(self, entry_id: str) -> list[Offer]:
        return await self._all(select(offers).where(o.entry_id == entry_id, o.status == "made"))
