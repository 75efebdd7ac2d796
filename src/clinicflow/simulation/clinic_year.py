"""Days of clinic life, made through the clinic's own use cases with the clock set to the
moment each thing happens (as demo.py does): patients registered at the desk and booked,
checked in, seen and paid at the desk, or missed (booking's no-show action) or cancelled or
moved; refunds as the clinic's policy says (payments' own bus subscriber, run at the end of
each day); waitlist joins and a launch (simulation.waitlists).

Each day runs as: the morning booking round (07:30: new patients, and those asking again),
the launch (09:00, on its day), waitlist joins (10:00), then the day's timeline in order —
cancellations and moves, check-ins, no-shows, completions and payments, the invited calling
the desk — grouped by moment (what happens at one moment runs concurrently), the evening
round (19:30: follow-ups booked by the day's patients, some paid there and then) and the
event bus (20:00). Only the bus's payments and waitlist subscribers and the analytics
recorder run: notifications for a past year would be mail nobody reads, so its events are
relayed without them.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Protocol

from clinicflow.analytics.repository import SqlAnalyticsUnitOfWork
from clinicflow.analytics.subscribers import EventRecorder
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.bootstrap import Container
from clinicflow.infra.bus import Subscriber
from clinicflow.infra.events import build_bus
from clinicflow.infra.unit_of_work import Factory
from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import DomainError
from clinicflow.simulation.agenda import EVENING, MORNING, Agenda, Ask, Planned
from clinicflow.simulation.arrivals import Arrivals
from clinicflow.simulation.booking_round import Pick, Round
from clinicflow.simulation.clinic import SimulatedClinic
from clinicflow.simulation.demand import (
    DEFAULT_PATH,
    PATHS,
    Demand,
    no_show_chance,
)
from clinicflow.simulation.people import Person
from clinicflow.simulation.tally import Tally
from clinicflow.simulation.waitlists import Waitlists


class MovableClock(Protocol):
    """The container's clock, set to each moment as the days go by (demo.DemoClock)."""

    def now(self) -> datetime: ...

    def set(self, at: datetime) -> None: ...


DESK = Actor(kind="user", id="simulation-front-desk", role=Role.FRONT_DESK, tier="staff")
CONVERSIONS = "waitlist_conversions"  # the waitlist's subscriber marking converted entries paid
GIVE_UP_LEAD = 30  # an ask no time was found for is tried later, until this far ahead
# Timeline steps whose outcome no other step at their moment can change (see `_day`).
OWN_VISIT = frozenset({"check_in", "complete", "no_show"})


@dataclass(frozen=True)
class YearPlan:
    days: int
    seed: int
    clinic: SimulatedClinic
    demand: Demand = field(default_factory=Demand)


Step = tuple[datetime, int, str, Planned | None]


class ClinicYear:
    def __init__(
        self, container: Container, clock: MovableClock, plan: YearPlan, desk: Actor = DESK
    ) -> None:
        self._c, self._clock, self._plan, self._desk = container, clock, plan, desk
        self._demand = plan.demand
        self._rng = random.Random(plan.seed)  # noqa: S311 (a simulation: repeatable on purpose)
        self._tz = container.catalog.clinic.tz
        self._agenda = Agenda()
        self.tally = Tally(left_out=plan.clinic.left_out)
        self._services = list(plan.clinic.services)
        self._arrivals = Arrivals(
            container, self._rng, self._demand, self._agenda, self.tally, desk, self._services
        )
        self._round = Round(container, self._rng)
        self._waitlists = Waitlists(
            container, self._rng, self._demand, self._arrivals.zips, self.tally, desk
        )
        # Refunds by the policy and offers of freed slots; conversions are marked paid in
        # `_pay` (a delivery per payment, every visit's, cost more than the rest of a day).
        # The analytics recorder keeps every event, so `clinicflow analytics lake-sync` makes
        # the lake the ML models learn from (docs/ml.md, docs/ml-planning.md).
        waitlist = [s for s in container.waitlist.subscribers if s.name != CONVERSIONS]
        recorder = EventRecorder(uow=Factory(container.db, SqlAnalyticsUnitOfWork), clock=clock)
        subscribers: list[Subscriber] = [container.payments.subscriber, *waitlist, recorder]
        self._bus = build_bus(container.settings, container.db, clock, subscribers)

    async def run(self, on_day: Callable[[date], None] | None = None) -> Tally:
        """The `plan.days` days before the clock's day; the clock is left where it was."""
        now = self._clock.now()
        first = now.astimezone(self._tz).date() - timedelta(days=self._plan.days)
        launch = self._plan.clinic.launch
        launch_day = first + timedelta(days=int(self._plan.days * self._demand.launch_at))
        self._set(self._at(first, 7))
        await self._arrivals.established(first, len(self._plan.clinic.practitioners))
        try:
            for n in range(self._plan.days):
                day = first + timedelta(days=n)
                await self._day(day, launch if day == launch_day else None)
                if on_day is not None:
                    on_day(day)
        finally:
            self._clock.set(now)
            await self._bus.aclose()
        await self.tally.count(self._c.db)
        return self.tally

    def _at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self._tz)

    async def _day(self, day: date, launch: str | None) -> None:
        self._set(self._at(day, 7, 30))
        await self._arrivals.arrive(day)
        await self._booking_round(day, MORNING)
        if launch is not None:
            self._set(self._at(day, 9))
            await self._waitlists.launch(launch)
            self._services.append(launch)
        await self._waitlists.join(self._plan.clinic.waitlisted, self._at(day, 10), self._set)
        for moment, group in groupby(sorted(self._timeline(day), key=_order), key=_moment):
            self._set(moment)
            # Each step draws from its own stream, seeded in a fixed order. Steps that touch
            # only their own visit (check-ins, no-shows, completions with their payment) run
            # at once: they finish in whatever order the database answers, and no order
            # changes what they make. Those that contend for time or for the waitlist
            # (cancellations, moves, the invited calling) run after them, one by one, in the
            # timeline's order.
            steps = [(kind, v, self._stream()) for _, _, kind, v in group]
            alone = [s for s in steps if s[0] in OWN_VISIT]
            await asyncio.gather(*(self._step(kind, v, day, rng) for kind, v, rng in alone))
            for kind, v, rng in steps:
                if kind not in OWN_VISIT:
                    await self._step(kind, v, day, rng)
        self._set(self._at(day, 19, 30))
        await self._booking_round(day, EVENING)
        self._set(self._at(day, 20))
        await self._bus.run_once()

    def _set(self, at: datetime) -> None:
        self._clock.set(at)

    def _stream(self) -> random.Random:
        return random.Random(self._rng.getrandbits(64))  # noqa: S311 (see __init__)

    # -- booking ------------------------------------------------------------------------

    def _duration(self, person: Person, visit_type: str) -> int:
        kinds = self._c.catalog.services[person.service].visit_types
        durations = kinds[visit_type].durations if visit_type in kinds else None
        return self._rng.choice(durations or (15,))

    async def _booking_round(self, day: date, round_: str) -> None:
        asks = sorted(  # a fixed order: steps finishing in any order asked for them
            (
                a
                for a in self._agenda.asks.pop((day, round_), [])
                if a.person.service in self._services
            ),
            key=lambda a: (a.person.number, a.visit_type, a.lead),
        )
        if not asks:
            return
        at = self._clock.now()
        made = await self._round.book(
            [(a, self._duration(a.person, a.visit_type)) for a in asks], at
        )
        placed = {id(pick.ask) for pick, booked in made if booked is not None}
        new: list[Planned] = []
        for pick, booked in made:
            if booked is not None:
                new.append(self._planned(pick, booked.id, at))
        for ask in asks:
            if id(ask) not in placed:
                self.tally.unplaced += 1
                if ask.lead + 3 <= GIVE_UP_LEAD:
                    tomorrow = day + timedelta(days=1)
                    self._agenda.ask(
                        tomorrow, MORNING, Ask(ask.person, ask.visit_type, ask.lead + 3)
                    )
        if round_ == EVENING:
            prepaid = [
                v
                for v in new
                if v.visit_type != "initial" and self._rng.random() < self._demand.prepay
            ]
            await asyncio.gather(*(self._pay(v, "card_terminal") for v in prepaid))

    def _planned(self, pick: Pick, booking_id: str, at: datetime) -> Planned:
        person = pick.ask.person
        visit = Planned(
            booking_id, person, person.service, pick.ask.visit_type, pick.duration,
            pick.practitioner, pick.start, pick.end, lead=(pick.start - at).days, fate="attend",
        )  # fmt: skip
        self._fate(visit, at)
        return visit

    def _fate(self, visit: Planned, at: datetime) -> None:
        d, r = self._demand, self._rng.random()
        room = visit.start - at  # between booking and the visit
        in_time = room > timedelta(hours=26)
        cancel = d.cancel_base + 0.002 * visit.lead
        if r < d.reschedule and in_time:
            visit.fate = "reschedule"
        elif r < d.reschedule + cancel:
            late = not in_time or self._rng.random() < d.late_share
            visit.fate = "late_cancel" if late else "cancel"
        else:
            earlier, first = visit.person.no_shows, visit.person.visits == 0
            hour = _hour(visit.start.astimezone(self._tz))
            missed = self._rng.random() < no_show_chance(d, visit.lead, earlier, first, hour)
            visit.fate = "no_show" if missed else "attend"
        if visit.fate in ("cancel", "reschedule"):
            span = (room - timedelta(hours=25)).total_seconds()
            visit.change_at = at + timedelta(seconds=self._rng.uniform(3600, max(3600, span)))
        elif visit.fate == "late_cancel":
            before = timedelta(hours=self._rng.uniform(2, 23))
            visit.change_at = max(visit.start - before, at + (room / 2))
        change_day = visit.change_at.astimezone(self._tz).date() if visit.change_at else None
        self._agenda.plan(visit, visit.start.astimezone(self._tz).date(), change_day)

    # -- the day's timeline ---------------------------------------------------------------

    def _timeline(self, day: date) -> list[Step]:
        steps: list[Step] = [
            (v.change_at, 0, v.fate, v) for v in self._agenda.changes.pop(day, []) if v.change_at
        ]
        for v in self._agenda.visits.pop(day, []):
            if v.fate == "attend":
                steps.append((v.start - timedelta(minutes=5), 1, "check_in", v))
                steps.append((v.end, 2, "complete", v))
            elif v.fate == "no_show":
                steps.append((v.start + timedelta(minutes=15), 1, "no_show", v))
        if self.tally.launched:
            steps.append((self._at(day, 12), 3, "calls", None))
        return steps

    async def _step(self, kind: str, visit: Planned | None, day: date, rng: random.Random) -> None:
        try:
            if visit is None:
                await self._calls(day)
            elif kind == "check_in":
                await self._c.bookings.act(self._desk, visit.booking_id, Action.CHECK_IN, None)
            elif kind == "complete":
                await self._complete(visit, day, rng)
            elif kind == "no_show":
                await self._no_show(visit, day, rng)
            elif kind == "reschedule":
                await self._move(visit, rng)
            else:
                await self._cancel(visit, day, rng, late=kind == "late_cancel")
        except DomainError:
            pass  # the booking changed meanwhile (a hold, a move): the clinic carries on

    async def _complete(self, visit: Planned, day: date, rng: random.Random) -> None:
        await self._c.bookings.act(self._desk, visit.booking_id, Action.COMPLETE, None)
        if not visit.paid:
            await self._pay(visit, rng.choice(("card_terminal", "cash")))
        person = visit.person
        person.visits += 1
        person.practitioner = visit.practitioner
        if person.first_visit is None:
            person.first_visit = day
        if (day - person.first_visit).days / 7 < person.stay_weeks:
            lo, hi = PATHS.get(person.service, DEFAULT_PATH).every_days
            self._agenda.ask(day, EVENING, Ask(person, "followup", rng.randint(lo, hi)))

    async def _no_show(self, visit: Planned, day: date, rng: random.Random) -> None:
        await self._c.bookings.act(self._desk, visit.booking_id, Action.NO_SHOW, None)
        person = visit.person
        person.no_shows += 1
        if rng.random() < 0.6 - 0.2 * person.no_shows:
            ask = Ask(person, visit.visit_type, rng.randint(2, 10))
            self._agenda.ask(day + timedelta(days=1), MORNING, ask)

    async def _cancel(self, visit: Planned, day: date, rng: random.Random, *, late: bool) -> None:
        reason = "cancelled by phone, late" if late else "cancelled by phone"
        await self._c.bookings.act(self._desk, visit.booking_id, Action.CANCEL, reason)
        if rng.random() < 0.6:
            ask = Ask(visit.person, visit.visit_type, rng.randint(3, 14))
            self._agenda.ask(day + timedelta(days=1), MORNING, ask)

    async def _move(self, visit: Planned, rng: random.Random) -> None:
        lo = visit.start + timedelta(days=2)
        slots = await self._c.availability.slots(
            visit.service, visit.visit_type, visit.duration, lo, lo + timedelta(days=7),
            visit.practitioner,
        )  # fmt: skip
        if not slots:
            await self._cancel(visit, visit.start.astimezone(self._tz).date(), rng, late=False)
            return
        slot = rng.choice(slots[:4])
        moved = await self._c.bookings.reschedule(
            self._desk, visit.booking_id, slot.start, visit.practitioner, None
        )
        self.tally.reschedules += 1
        again = Planned(
            moved.id, visit.person, visit.service, visit.visit_type, visit.duration,
            visit.practitioner, moved.start, moved.end, visit.lead + 2, "attend", paid=visit.paid,
        )  # fmt: skip
        hour = _hour(moved.start.astimezone(self._tz))
        missed = no_show_chance(self._demand, again.lead, visit.person.no_shows, False, hour)
        again.fate = "no_show" if rng.random() < missed else "attend"
        self._agenda.plan(again, moved.start.astimezone(self._tz).date(), None)

    async def _pay(self, visit: Planned, tender: str) -> None:
        request = CheckoutRequest((visit.booking_id,), method="in_clinic", tender=tender)
        try:
            made, _ = await self._c.payments.checkout.create(self._desk, request)
        except DomainError:
            return
        visit.paid = True
        if visit.person.source == "waitlist" and visit.visit_type == "initial":
            # What the subscriber does with this payment's event (its inbox keyed the same).
            event = str(uuid.uuid5(uuid.NAMESPACE_URL, f"simulation:{made.order.id}"))
            await self._c.waitlist.conversions.paid(CONVERSIONS, event, [visit.booking_id])

    async def _calls(self, day: date) -> None:
        """The invited calling the desk: their first visits, booked from their entries."""
        service = self.tally.launched or ""
        now = self._clock.now()
        for made in await self._waitlists.follow_up(service, now):
            person = made.person
            self._arrivals.people.append(person)
            self.tally.patients += 1
            self.tally.sources["waitlist"] += 1
            person.stay_weeks = self._arrivals.stay(service)
            pick = Pick(
                Ask(person, "initial", 0), made.duration, made.start, made.end, made.practitioner
            )
            self._planned(pick, made.booking_id, now)


def _hour(at: datetime) -> float:
    return at.hour + at.minute / 60


def _order(step: Step) -> tuple[datetime, int, int]:
    return step[0], step[1], step[3].person.number if step[3] is not None else 0


def _moment(step: Step) -> datetime:
    return step[0]
