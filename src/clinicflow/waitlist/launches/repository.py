"""Launch waves and invitations in SQL."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.waitlist.conversions.repository import SqlLinks
from clinicflow.waitlist.domain.links import Invitation
from clinicflow.waitlist.domain.states import LIVE_INVITATION
from clinicflow.waitlist.launches.ports import WaveAlreadySent
from clinicflow.waitlist.tables import entries, invitations, waves

i = invitations.c


class SqlWaves:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def last(self, service: str) -> int:
        found = await self._conn.execute(
            select(func.max(waves.c.number)).where(waves.c.service == service)
        )
        return int(found.scalar_one() or 0)

    async def add(
        self, service: str, number: int, now: datetime, capacity: int, invited: int
    ) -> None:
        # The primary key (service, number) is the guard against two workers sending one wave.
        row = {
            "service": service,
            "number": number,
            "started_at": now,
            "capacity": capacity,
            "invited": invited,
        }
        try:
            await self._conn.execute(insert(waves).values(row))
        except IntegrityError as exc:
            raise WaveAlreadySent(f"{service} wave {number}") from exc


class SqlInvitations(SqlLinks[Invitation]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, invitations, lambda row: Invitation(**row))

    async def add(self, invitation: Invitation) -> None:
        await self._conn.execute(insert(invitations).values(asdict(invitation)))

    async def live_count(self, service: str, now: datetime) -> int:
        query = select(func.count()).where(
            i.service == service,
            or_(and_(i.status == "sent", i.expires_at > now), i.status == "claiming"),
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def never_invited(self, service: str) -> list[str]:
        e = entries.c
        invited = exists().where(i.entry_id == e.id)
        query = select(e.id).where(e.service == service, e.status == "waiting", ~invited)
        return [str(x) for x in (await self._conn.execute(query)).scalars()]

    async def lapsed(self, now: datetime, limit: int) -> list[Invitation]:
        query = (
            select(invitations)
            .where(i.status == "sent", i.expires_at <= now)
            .order_by(i.expires_at, i.id)
            .limit(limit)
        )
        return await self._all(query)

    async def live_of(self, entry_id: str) -> list[Invitation]:
        where: ColumnElement[bool] = and_(i.entry_id == entry_id, i.status.in_(LIVE_INVITATION))
        return await self._all(select(invitations).where(where))
