"""Reads over the booking tables: bulk, one query per question (DESIGN §6), typed rows out.

`SqlAppointmentReads` is the read half of the unit of work's appointments (repository.py).
`booking_now` and `appointment` are the reads other contexts make of booking in their own
transaction: a reminder about to go out judges the booking as it stands now; payments prices
and confirms the visits it is paid for. `practitioner_calendar` is what a practitioner's ICS
feed lists (calendars' `FeedBookings`, wired in bootstrap).

The write path's reads are built once (bind parameters): a statement built per call costs
more Python than its round trip (SQLAlchemy caches the compiled SQL, not the building).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.domain.appointment import Appointment
from clinicflow.booking.domain.lifecycle import Status
from clinicflow.booking.ports import Busy
from clinicflow.booking.tables import OCCUPYING, appointments
from clinicflow.shared.minutes import to_minute

a = appointments.c


def _occupying(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Rows that take the practitioner's time now: a hold only while it is live."""
    return and_(a.status.in_(OCCUPYING), or_(a.status != "held", a.hold_expires_at > now))


def lapsed_before(cutoff: BindParameter[datetime]) -> ColumnElement[bool]:
    """Holds that lapsed before `cutoff`: still held past expiry, or marked expired and
    untouched since (retention)."""
    return or_(
        and_(a.status == Status.HELD.value, a.hold_expires_at < cutoff),
        and_(a.status == Status.EXPIRED.value, a.updated_at < cutoff),
    )


_GET = select(appointments).where(a.id == bindparam("q_id"))
_GET_LOCKED = _GET.with_for_update()
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
_DAY_LOAD = (
    select(a.practitioner, func.count())
    .where(
        a.practitioner.in_(bindparam("q_practitioners", expanding=True)),
        _occupying(bindparam("q_now")),
        a.start_at >= bindparam("q_lo"),
        a.start_at < bindparam("q_hi"),
    )
    .group_by(a.practitioner)
)
_PREVIOUS = (
    select(a.practitioner)
    .where(a.patient_id == bindparam("q_patient"), a.service == bindparam("q_service"))
    .where(a.status.in_(("confirmed", "checked_in", "completed")))
    .where(a.practitioner.in_(bindparam("q_eligible", expanding=True)))
    .order_by(a.start_at.desc())
    .limit(1)
)
_LAPSED = select(a.id).where(lapsed_before(bindparam("q_cutoff"))).order_by(a.created_at, a.id)


class SqlAppointmentReads:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, booking_id: str, *, lock: bool = False) -> Appointment | None:
        found = await self._conn.execute(_GET_LOCKED if lock else _GET, {"q_id": booking_id})
        row = found.first()
        return None if row is None else Appointment(*row)

    async def search(
        self,
        practitioner: str | None,
        lo: datetime | None,
        hi: datetime | None,
        limit: int,
        patient_id: str | None = None,
    ) -> list[Appointment]:
        query = select(appointments).order_by(a.start_at, a.id).limit(limit)
        if practitioner is not None:
            query = query.where(a.practitioner == practitioner)
        if patient_id is not None:
            query = query.where(a.patient_id == patient_id)
        if lo is not None:
            query = query.where(a.end_at > lo)
        if hi is not None:
            query = query.where(a.start_at < hi)
        return [Appointment(*row) for row in await self._conn.execute(query)]

    async def busy_blocks(
        self, practitioners: Sequence[str], lo: datetime, hi: datetime, now: datetime
    ) -> Busy:
        busy, _lapsed = await self.blocks_and_lapsed_holds(practitioners, lo, hi, now)
        return busy

    async def blocks_and_lapsed_holds(
        self,
        practitioners: Sequence[str],
        lo: datetime,
        hi: datetime,
        now: datetime,
        exclude_id: str | None = None,
    ) -> tuple[Busy, set[str]]:
        params: dict[str, object] = {"q_practitioners": list(practitioners), "q_lo": lo, "q_hi": hi}
        query = _BLOCKS
        if exclude_id is not None:
            query, params["q_exclude"] = _BLOCKS_EXCEPT, exclude_id
        busy: Busy = defaultdict(list)
        lapsed: set[str] = set()
        for row in await self._conn.execute(query, params):
            if row.status == "held" and row.hold_expires_at <= now:
                lapsed.add(row.practitioner)
            else:
                busy[row.practitioner].append(
                    (to_minute(row.block_start), to_minute(row.block_end))
                )
        return busy, lapsed

    async def patient_overlaps(
        self,
        patient_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
        exclude_id: str | None = None,
    ) -> bool:
        params: dict[str, object] = {"q_patient": patient_id, "q_now": now}
        params |= {"q_lo": start, "q_hi": end}
        query = _PATIENT_OVERLAPS
        if exclude_id is not None:
            query, params["q_exclude"] = _PATIENT_OVERLAPS_EXCEPT, exclude_id
        return (await self._conn.execute(query, params)).first() is not None

    async def day_load(
        self, practitioners: Sequence[str], lo: datetime, hi: datetime, now: datetime
    ) -> dict[str, int]:
        params = {"q_practitioners": list(practitioners), "q_now": now, "q_lo": lo, "q_hi": hi}
        return {str(row[0]): int(row[1]) for row in await self._conn.execute(_DAY_LOAD, params)}

    async def previous_practitioner(
        self, patient_id: str, service: str, eligible: Sequence[str]
    ) -> str | None:
        params = {"q_patient": patient_id, "q_service": service, "q_eligible": list(eligible)}
        found = (await self._conn.execute(_PREVIOUS, params)).scalar_one_or_none()
        return None if found is None else str(found)

    async def lapsed_holds(self, cutoff: datetime) -> list[str]:
        return [str(i) for i in (await self._conn.execute(_LAPSED, {"q_cutoff": cutoff})).scalars()]


@dataclass(frozen=True, slots=True)
class BookingNow:
    id: str
    status: str
    service: str
    visit_type: str
    practitioner: str
    start: datetime
    end: datetime
    patient_id: str | None


_NOW = select(
    a.id, a.status, a.service, a.visit_type, a.practitioner, a.start_at, a.end_at, a.patient_id
).where(a.id == bindparam("q_id"))


async def booking_now(conn: AsyncConnection, booking_id: str) -> BookingNow | None:
    """The booking as stored at this instant (its status as stored: a lapsed hold reads
    "held")."""
    row = (await conn.execute(_NOW, {"q_id": booking_id})).first()
    return None if row is None else BookingNow(*row)


_NOW_MANY = select(
    a.id, a.status, a.service, a.visit_type, a.practitioner, a.start_at, a.end_at, a.patient_id
).where(a.id.in_(bindparam("q_ids", expanding=True)))


async def bookings_now(
    conn: AsyncConnection, booking_ids: Collection[str]
) -> dict[str, BookingNow]:
    """`booking_now` for many bookings in one query: by id, the ones found."""
    if not booking_ids:
        return {}
    rows = await conn.execute(_NOW_MANY, {"q_ids": sorted(set(booking_ids))})
    return {str(row[0]): BookingNow(*row) for row in rows}


async def appointment(conn: AsyncConnection, booking_id: str) -> Appointment | None:
    """The whole row, for the composition root's adapters onto booking."""
    row = (await conn.execute(_GET, {"q_id": booking_id})).first()
    return None if row is None else Appointment(*row)


# What a practitioner's calendar shows: booked visits (holds are not bookings yet).
BOOKED = (Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW)


@dataclass(frozen=True, slots=True)
class CalendarVisit:
    id: str
    service: str
    start: datetime
    end: datetime
    status: str
    updated_at: datetime


_CALENDAR = (
    select(a.id, a.service, a.start_at, a.end_at, a.status, a.updated_at)
    .where(
        a.practitioner == bindparam("q_practitioner"),
        # Implied by the start (a block starts at or before its visit): lets the
        # (practitioner, block_start) index bound the scan.
        a.block_start < bindparam("q_hi"),
        a.start_at < bindparam("q_hi"),
        a.end_at > bindparam("q_lo"),
        or_(
            a.status.in_([s.value for s in BOOKED]),
            and_(a.status == Status.CANCELLED.value, a.updated_at >= bindparam("q_cancelled")),
        ),
    )
    .order_by(a.start_at, a.id)
)


async def practitioner_calendar(
    conn: AsyncConnection,
    practitioner: str,
    lo: datetime,
    hi: datetime,
    cancelled_since: datetime,
) -> list[CalendarVisit]:
    """The practitioner's booked visits overlapping [lo, hi), and those cancelled at or after
    `cancelled_since`, soonest first; no patient."""
    params = {
        "q_practitioner": practitioner,
        "q_lo": lo,
        "q_hi": hi,
        "q_cancelled": cancelled_since,
    }
    return [CalendarVisit(*row) for row in await conn.execute(_CALENDAR, params)]
