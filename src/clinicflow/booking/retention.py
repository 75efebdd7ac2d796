"""Retention of lapsed holds: a hold that was never confirmed is deleted once it is old.

Due: a row still stored as held whose hold expired before the cutoff (nothing marked it
expired because no one booked near it), and a row marked expired whose last change is
before the cutoff. The cutoff is `expired_holds_days` before now. Confirmed, cancelled and
attended bookings are the visit history and never go here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.domain.lifecycle import Status
from clinicflow.booking.tables import appointments, idempotency_keys
from clinicflow.catalog.domain import RetentionPolicy

__all__ = ["delete_due", "due"]

# Ids per DELETE ... IN (...): well under every driver's bound-parameter limit.
CHUNK = 500

a = appointments.c


def _lapsed(cutoff: datetime) -> ColumnElement[bool]:
    return or_(
        and_(a.status == Status.HELD.value, a.hold_expires_at < cutoff),
        and_(a.status == Status.EXPIRED.value, a.updated_at < cutoff),
    )


async def due(conn: AsyncConnection, policy: RetentionPolicy, now: datetime) -> list[str]:
    """Ids of the lapsed holds past retention, oldest first."""
    query = select(a.id).where(_lapsed(policy.holds_cutoff(now))).order_by(a.created_at, a.id)
    return list((await conn.execute(query)).scalars())


async def delete_due(conn: AsyncConnection, policy: RetentionPolicy, now: datetime) -> list[str]:
    """Delete the lapsed holds (and their idempotency keys) in the caller's write transaction.

    The rule is evaluated here, not taken from an earlier plan, and the rows are locked on
    PostgreSQL, so a hold confirmed meanwhile is neither deleted nor stripped of its key."""
    query = (
        select(a.id)
        .where(_lapsed(policy.holds_cutoff(now)))
        .order_by(a.created_at, a.id)
        .with_for_update()  # ignored by SQLite, whose write transaction is exclusive anyway
    )
    ids = list((await conn.execute(query)).scalars())
    for chunk in _chunks(ids):
        # The keys point at the appointments, so they go first.
        await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.booking_id.in_(chunk)))
        await conn.execute(delete(appointments).where(a.id.in_(chunk)))
    return ids


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
