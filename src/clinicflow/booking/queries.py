"""Reads over the booking tables: bulk, one query per question (DESIGN §6)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, Row, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.domain.availability import Interval
from clinicflow.booking.tables import OCCUPYING, appointments, idempotency_keys
from clinicflow.shared.minutes import to_minute

a = appointments.c


def _occupying(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Rows that take the practitioner's time now: a hold only while it is live."""
    return and_(
        a.status.in_(OCCUPYING),
        or_(a.status != "held", a.hold_expires_at > now),
    )


# The booking write path's reads, built once: a statement built per call costs more Python
# than its round trip (SQLAlchemy caches the compiled SQL, not the building).
# Occupying blocks with lapsed holds too (still "held" until marked expired), so a writer
# knows whether there are any to mark before it takes their time.
_BLOCKS = select(a.practitioner, a.block_start, a.block_end, a.status, a.hold_expires_at).where(
    a.practitioner.in_(bindparam("q_practitioners", expanding=True)),
    a.status.in_(OCCUPYING),
    a.block_start < bindparam("q_hi"),
    a.block_end > bindparam("q_lo"),
)
_BLOCKS_EXCEPT = _BLOCKS.where(a.id != bindparam("q_exclude"))
_PATIENT_OVERLAPS = (
    select(a.id)
    .where(
        a.patient_id == bindparam("q_patient"),
        _occupying(bindparam("q_now")),
        a.start_at < bindparam("q_hi"),
        a.end_at > bindparam("q_lo"),
    )
    .limit(1)
)
_PATIENT_OVERLAPS_EXCEPT = _PATIENT_OVERLAPS.where(a.id != bindparam("q_exclude"))


async def busy_blocks(
    conn: AsyncConnection,
    practitioners: Sequence[str],
    lo: datetime,
    hi: datetime,
    now: datetime,
) -> dict[str, list[Interval]]:
    """Each practitioner's occupied blocks overlapping [lo, hi) (lapsed holds free)."""
    busy, _lapsed = await blocks_and_lapsed_holds(conn, practitioners, lo, hi, now)
    return busy


async def blocks_and_lapsed_holds(
    conn: AsyncConnection,
    practitioners: Sequence[str],
    lo: datetime,
    hi: datetime,
    now: datetime,
    exclude_id: str | None = None,
) -> tuple[dict[str, list[Interval]], set[str]]:
    """`busy_blocks`, and which practitioners have lapsed holds in the window."""
    params = {"q_practitioners": list(practitioners), "q_lo": lo, "q_hi": hi}
    query = _BLOCKS
    if exclude_id is not None:
        query, params["q_exclude"] = _BLOCKS_EXCEPT, exclude_id
    busy: dict[str, list[Interval]] = defaultdict(list)
    lapsed: set[str] = set()
    for row in await conn.execute(query, params):
        if row.status == "held" and row.hold_expires_at <= now:
            lapsed.add(row.practitioner)
        else:
            busy[row.practitioner].append((to_minute(row.block_start), to_minute(row.block_end)))
    return busy, lapsed


async def patient_overlaps(
    conn: AsyncConnection,
    patient_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_id: str | None = None,
) -> bool:
    params = {"q_patient": patient_id, "q_now": now, "q_lo": start, "q_hi": end}
    query = _PATIENT_OVERLAPS
    if exclude_id is not None:
        query, params["q_exclude"] = _PATIENT_OVERLAPS_EXCEPT, exclude_id
    return (await conn.execute(query, params)).first() is not None


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
