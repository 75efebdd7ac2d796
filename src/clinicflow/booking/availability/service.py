"""Availability: the open slots of a visit (bulk-load busy time, run the pure engine, answer
in local time), and, inside a write, who takes one slot (`Placement`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from clinicflow.booking import errors
from clinicflow.booking.commands import SlotRequest
from clinicflow.booking.domain.availability import Interval, find_slots
from clinicflow.booking.domain.locks import lock_keys
from clinicflow.booking.domain.matching import order_candidates
from clinicflow.booking.domain.visits import (
    Placed,
    VisitRequest,
    calendars,
    choose,
    eligible,
    resolve,
)
from clinicflow.booking.events import booking_event
from clinicflow.booking.ports import BookingUnitOfWork, CalendarSource, Launches
from clinicflow.booking.views import SlotView
from clinicflow.catalog import Catalog
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.minutes import from_minute, to_minute, to_minute_ceil

MAX_RANGE = timedelta(days=92)
# Busy blocks are read a day beyond the window: buffers and local days reach past its edges.
_MARGIN = timedelta(days=1)


class AvailabilityService:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[BookingUnitOfWork],
        catalog: Catalog,
        clock: Clock,
        sources: Sequence[CalendarSource],
        launches: Launches | None = None,
    ) -> None:
        """`launches`: refreshed before each question, so a launched service has slots."""
        self._uow = uow
        self._catalog = catalog
        self._clock = clock
        self._sources = sources
        self._launches = launches
        self._tz = catalog.clinic.tz

    async def slots(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None,
    ) -> list[SlotView]:
        if self._launches is not None:
            await self._launches.refresh()
        visit = resolve(self._catalog, service, visit_type, duration)
        keys = eligible(self._catalog, visit.service, practitioner)
        _check_range(lo, hi)
        now = self._clock.now()
        async with self._uow.reading() as uow:
            busy = await uow.appointments.busy_blocks(keys, lo - _MARGIN, hi + _MARGIN, now)
        window = (to_minute_ceil(lo), to_minute_ceil(hi))
        margin = (to_minute(lo - _MARGIN), to_minute(hi + _MARGIN))
        other = await busy_elsewhere(self._sources, keys, margin)
        cals = calendars(self._catalog, keys, busy, *other)
        found = find_slots(cals, visit.rules(now), window, self._tz)
        tz = self._tz
        return [
            SlotView(
                from_minute(s.start).astimezone(tz),
                from_minute(s.end).astimezone(tz),
                s.practitioners,
            )
            for s in found
        ]


class Placement:
    """Who takes a slot, and whether the patient is free then, in a write's unit of work:
    checked against every committed booking (and every writer ahead of it in line)."""

    def __init__(self, *, catalog: Catalog, sources: Sequence[CalendarSource]) -> None:
        self._catalog = catalog
        self._sources = sources
        self._tz = catalog.clinic.tz

    async def place(
        self,
        uow: BookingUnitOfWork,
        visit: VisitRequest,
        slot: SlotRequest,
        patient_id: str | None,
        now: datetime,
        exclude_id: str | None = None,
    ) -> Placed:
        """Who takes `slot`, once every writer ahead at the same practitioners' times (on
        PostgreSQL: domain/locks.py) has committed or rolled back; raises why nobody can."""
        keys = eligible(self._catalog, visit.service, slot.practitioner)
        lo, hi = visit.block(slot.start)
        await uow.slot_locks.queue_for(lock_keys(keys, (lo, hi)))
        if len(keys) > 1:
            keys = await self._match_order(uow, visit, keys, slot.start, patient_id, now)
        busy, lapsed = await uow.appointments.blocks_and_lapsed_holds(keys, lo, hi, now, exclude_id)
        other = await busy_elsewhere(self._sources, keys, (to_minute(lo), to_minute(hi) + 1))
        return choose(self._catalog, visit, keys, slot.start, now, [busy, *other], lapsed)

    async def _match_order(
        self,
        uow: BookingUnitOfWork,
        visit: VisitRequest,
        keys: tuple[str, ...],
        start: datetime,
        patient_id: str | None,
        now: datetime,
    ) -> tuple[str, ...]:
        local = start.astimezone(self._tz)
        day_lo = local.replace(hour=0, minute=0, second=0, microsecond=0)
        day_hi = (day_lo.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=self._tz)
        load = await uow.appointments.day_load(keys, day_lo, day_hi, now)
        previous = None
        if patient_id is not None:
            previous = await uow.appointments.previous_practitioner(
                patient_id, visit.service.key, keys
            )
        return tuple(order_candidates(keys, previous, load))

    @staticmethod
    async def expire_lapsed_holds(
        uow: BookingUnitOfWork, placed: Placed, visit: VisitRequest, start: datetime, now: datetime
    ) -> None:
        """Lapsed holds still sit in the table (their block would refuse ours); only when the
        placement saw some, mark them expired first."""
        if placed.lapsed_holds:
            lo, hi = visit.block(start)
            expired = await uow.appointments.expire_lapsed_holds(placed.practitioner, lo, hi, now)
            uow.publish(*(booking_event("hold_expired", hold, now) for hold in expired))

    async def check_patient_free(
        self,
        uow: BookingUnitOfWork,
        actor: Actor,
        patient_id: str | None,
        start: datetime,
        duration: int,
        now: datetime,
        exclude_id: str | None = None,
    ) -> None:
        if patient_id is None:
            return
        end = start + timedelta(minutes=duration)
        if not await uow.appointments.patient_overlaps(patient_id, start, end, now, exclude_id):
            return
        if actor.kind == "anonymous":
            # Anyone can type someone's email: say nothing about that person's visits, not
            # even which time collided. The person sees their visits once signed in.
            raise errors.PatientUnavailable(ANONYMOUS_OVERLAP)
        raise errors.PatientUnavailable(
            "this patient already has a visit that overlaps "
            f"{start.astimezone(self._tz).isoformat()}; choose another time"
        )


ANONYMOUS_OVERLAP = (
    "this visit cannot be booked with these contact details; choose another time, or ask "
    "for a sign-in link (POST /v1/auth/patient-link) to see the visits on your record"
)


async def busy_elsewhere(
    sources: Sequence[CalendarSource], keys: Sequence[str], window: Interval
) -> list[Mapping[str, Sequence[Interval]]]:
    """Each source's busy blocks for `keys` in `window`, one mapping per source."""
    return [await source.busy(keys, window) for source in sources]


def _check_range(lo: datetime, hi: datetime) -> None:
    if hi <= lo:
        raise errors.InvalidRange("`end` must be after `start`")
    if hi - lo > MAX_RANGE:
        raise errors.RangeTooLong(
            f"ask for at most {MAX_RANGE.days} days at a time; narrow `start`..`end`"
        )
