"""Retention of withdrawn waitlist entries: deleted, with everything that hangs off them
(engagement, invitations, offers, nurture records), once `cancelled_waitlist_entries_days`
have passed since they were withdrawn. Entries still waiting, booked or converted are not
touched: the first are live, the others are the conversion history the statistics count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.waitlist.domain.states import Status
from clinicflow.waitlist.tables import engagements, entries, invitations, nurtures, offers

__all__ = ["delete_due", "due"]

CHUNK = 500  # ids per DELETE ... IN (...)
e = entries.c


def cutoff(policy: RetentionPolicy, now: datetime) -> datetime:
    return now - timedelta(days=policy.cancelled_waitlist_entries_days)


def _withdrawn_before(at: datetime) -> ColumnElement[bool]:
    return and_(e.status == Status.WITHDRAWN.value, e.status_at < at)


async def due(conn: AsyncConnection, policy: RetentionPolicy, now: datetime) -> list[str]:
    query = select(e.id).where(_withdrawn_before(cutoff(policy, now))).order_by(e.status_at, e.id)
    return list((await conn.execute(query)).scalars())


async def delete_due(conn: AsyncConnection, policy: RetentionPolicy, now: datetime) -> list[str]:
    """In the caller's write transaction; the rule is judged again here, rows locked."""
    query = (
        select(e.id)
        .where(_withdrawn_before(cutoff(policy, now)))
        .order_by(e.status_at, e.id)
        .with_for_update()
    )
    ids = list((await conn.execute(query)).scalars())
    for chunk in _chunks(ids):
        for child in (engagements, invitations, offers, nurtures):
            await conn.execute(delete(child).where(child.c.entry_id.in_(chunk)))
        await conn.execute(delete(entries).where(e.id.in_(chunk)))
    return ids


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
