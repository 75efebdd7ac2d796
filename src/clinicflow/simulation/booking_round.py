"""A booking round: everyone asking at one moment gets a time, and the round is booked at
once (concurrent bookings share a transaction: infra/group_commit.py).

The open times come from booking's own availability, one question per visit kind for the
whole round's span; the round then keeps its own picks apart (two people never pick one
practitioner's overlapping time, buffers included, and one person asking twice never gets
two visits at once). So no booking of a round can take another's time, and the round's
outcome is the same whatever order its concurrent bookings commit in (same seed, same
history). A booking refused anyway leaves that person unplaced: they ask again or leave.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.views import BookingView, SlotView
from clinicflow.bootstrap import Container
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import SYSTEM
from clinicflow.shared.errors import DomainError
from clinicflow.simulation.agenda import Ask

WINDOW_DAYS = 3  # a person takes a time within this many days of the day they asked for
CHOICES = 6  # …among the first this many open ones (people differ in what suits them)


@dataclass(frozen=True, slots=True)
class Pick:
    ask: Ask
    duration: int
    start: datetime
    end: datetime
    practitioner: str


class Round:
    def __init__(self, container: Container, rng: random.Random) -> None:
        self._c = container
        self._rng = rng
        self._tz = container.catalog.clinic.tz

    async def book(
        self, asks: Sequence[tuple[Ask, int]], at: datetime
    ) -> list[tuple[Pick, BookingView | None]]:
        """`asks` with the duration each wants; each pick with its booking (None: refused).
        Asks no time was found for are left out."""
        picks = await self.pick(asks, at)
        made = await asyncio.gather(*(self._book(p) for p in picks))
        return list(zip(picks, made, strict=True))

    async def pick(self, asks: Sequence[tuple[Ask, int]], at: datetime) -> list[Pick]:
        kinds: dict[tuple[str, str, int], list[Ask]] = defaultdict(list)
        for ask, duration in asks:
            kinds[(ask.person.service, ask.visit_type, duration)].append(ask)
        taken: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        theirs: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)  # by person
        picks: list[Pick] = []
        for (service, visit_type, duration), wanting in kinds.items():
            lo = min(self._day_start(at, a.lead) for a in wanting)
            hi = max(self._day_start(at, a.lead) for a in wanting)
            hi += timedelta(days=WINDOW_DAYS + 1)
            slots = await self._c.availability.slots(service, visit_type, duration, lo, hi, None)
            policy = self._c.catalog.services[service].policy
            before = timedelta(minutes=policy.buffer_before_min)
            after = timedelta(minutes=policy.buffer_after_min)
            for ask in wanting:
                own = theirs[ask.person.number]
                open_ = [s for s in slots if not _overlaps((s.start, s.end), own)] if own else slots
                found = self._choose(
                    ask, self._day_start(at, ask.lead), open_, taken, (before, after)
                )
                if found is not None:
                    slot, practitioner = found
                    taken[practitioner].append((slot.start - before, slot.end + after))
                    own.append((slot.start, slot.end))
                    picks.append(Pick(ask, duration, slot.start, slot.end, practitioner))
        return picks

    def _day_start(self, at: datetime, lead: int) -> datetime:
        day = at.astimezone(self._tz).date() + timedelta(days=lead)
        return datetime.combine(day, time(0), self._tz)

    def _choose(
        self,
        ask: Ask,
        lo: datetime,
        slots: Sequence[SlotView],
        taken: dict[str, list[tuple[datetime, datetime]]],
        buffers: tuple[timedelta, timedelta],
    ) -> tuple[SlotView, str] | None:
        before, after = buffers
        hi = lo + timedelta(days=WINDOW_DAYS)
        usual = ask.person.practitioner
        fits: list[tuple[SlotView, str]] = []
        for slot in slots:
            if slot.start < lo:
                continue
            if slot.start >= hi or len(fits) >= CHOICES:
                break
            block = (slot.start - before, slot.end + after)
            free = [p for p in slot.practitioners if not _overlaps(block, taken[p])]
            if usual in free:
                fits.append((slot, usual))  # continuity of care first
            elif free and usual is None:
                fits.append((slot, self._rng.choice(free)))
            elif free and self._rng.random() < 0.3:
                fits.append((slot, self._rng.choice(free)))  # their usual one is full
        return self._rng.choice(fits) if fits else None

    async def _book(self, pick: Pick) -> BookingView | None:
        person = pick.ask.person
        details = PatientDetails(person.first_name, person.last_name, person.email, None)
        service = person.service
        request = SlotRequest(
            service, pick.ask.visit_type, pick.duration, pick.start, pick.practitioner
        )
        try:
            booked, _ = await self._c.bookings.book(
                SYSTEM, BookRequest(request, details), idempotency_key=None
            )
        except DomainError:
            return None
        return booked


def _overlaps(block: tuple[datetime, datetime], taken: list[tuple[datetime, datetime]]) -> bool:
    return any(block[0] < end and start < block[1] for start, end in taken)
