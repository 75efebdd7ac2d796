"""Reads over the booking tables: bulk, one query per question (DESIGN §6)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Row, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.domain.availability import Interval
from clinicflow.booking.tables import OCCUPYING, appointments, idempotency_keys
from clinicflow.shared.minutes import to_minute

a = appointments.c


def _occupying(now: datetime) -> ColumnElement[bool]:
    """Rows that take the practitioner's time now: a hold only while it is live."""
    return and_(
        a.status.in_(OCCUPYING),
        or_(a.status != "held", a.hold_expires_at > now),
    )


async def busy_blocks(
    conn: AsyncConnection,
    practitioners: Sequence[str],
    lo: datetime,
    hi: datetime,
    now: datetime,
    exclude_id: str | None = None,
) -> dict[str, list[Interval]]:
    query = select(a.practitioner, a.block_start, a.block_end).where(
        a.practitioner.in_(practitioners),
        _occupying(now),
        a.block_start < hi,
        a.block_end > lo,
    )
    if exclude_id is not None:
        query = query.where(a.id != exclude_id)
    out: dict[str, list[Interval]] = defaultdict(list)
    for row in await conn.execute(query):
        out[row.practitioner].append((to_minute(row.block_start), to_minute(row.block_end)))
    return out


async def patient_overlaps(
    conn: AsyncConnection,
    patient_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_id: str | None = None,
) -> bool:
    query = select(a.id).where(
        a.patient_id == patient_id, _occupying(now), a.start_at < end, a.end_at > start
    )
    if exclude_id is not None:
        query = query.where(a.id != exclude_id)
    return (await conn.execute(query.limit(1))).first() is not None


async def day_load(
    conn: AsyncConnection, practitioners: Sequence[str], lo: datetime, hi: datetime, now: datetime
) -> dict[str, int]:
    query = (
        select(a.practitioner, func.count())
        .where(a.practitioner.in_(practitioners), _occupying(now))
        .where(a.start_at >= lo, a.start_at < hi)
        .group_by(a.practitioner)
    )
    return {row[0]: int(row[1]) for row in await conn.execute(query)}


async def previous_practitioner(
    conn: AsyncConnection, patient_id: str, service: str, eligible: Sequence[str]
) -> str | None:
    query = (
        select(a.practitioner)
        .where(a.patient_id == patient_id, a.service == service)
        .where(a.status.in_(("confirmed", "checked_in", "completed")))
        .where(a.practitioner.in_(eligible))
        .order_by(a.start_at.desc())
        .limit(1)
    )
    found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else str(found)


async def get_row(
    conn: AsyncConnection, booking_id: str, *, lock: bool = False
) -> Row[object] | None:
    query = select(appointments).where(a.id == booking_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def list_rows(
    conn: AsyncConnection,
    practitioner: str | None,
    lo: datetime | None,
    hi: datetime | None,
    limit: int,
    patient_id: str | None = None,
) -> Sequence[Row[object]]:
    query = select(appointments).order_by(a.start_at, a.id).limit(limit)
    if practitioner is not None:
        query = query.where(a.practitioner == practitioner)
    if patient_id is not None:
        query = query.where(a.patient_id == patient_id)
    if lo is not None:
        query = query.where(a.end_at > lo)
    if hi is not None:
        query = query.where(a.start_at < hi)
    return (await conn.execute(query)).all()


async def idempotent_booking(
    conn: AsyncConnection, scope: str, key: str
) -> tuple[str, Row[object]] | None:
    k = idempotency_keys.c
    query = (
        select(k.request_hash, appointments)
        .join(appointments, appointments.c.id == k.booking_id)
        .where(k.client_id == scope, k.key == key)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else (str(row.request_hash), row)
