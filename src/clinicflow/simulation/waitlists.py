"""The waitlists through the year: people join the services not launched yet, one service
launches partway through (its first wave of invitations goes out at once, later waves as
the launcher's job finds room), and most of the invited call the desk, which books their
first visit from the entry (`conversions.convert`). Paying that visit marks the entry
converted (the waitlist's bus subscriber, run at the end of each day)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.bootstrap import Container
from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.errors import DomainError
from clinicflow.simulation.demand import Demand, conversion_chance, poisson, seasonal
from clinicflow.simulation.people import Neighbourhood, Person, invent
from clinicflow.simulation.tally import Tally
from clinicflow.waitlist.domain.slots import ClaimAsk
from clinicflow.waitlist.entries.commands import Contact, JoinRequest

ADMIN = Actor(kind="user", id="simulation-admin", role=Role.ADMIN, tier="staff")


@dataclass(frozen=True, slots=True)
class Converted:
    """An invited person's first visit, booked by the desk from their entry."""

    person: Person
    booking_id: str
    duration: int
    start: datetime
    end: datetime
    practitioner: str


class Waitlists:
    def __init__(
        self,
        container: Container,
        rng: random.Random,
        demand: Demand,
        zips: Neighbourhood,
        tally: Tally,
        desk: Actor,
    ) -> None:
        self._c = container
        self._rng = rng
        self._demand = demand
        self._zips = zips
        self._tally = tally
        self._desk = desk
        self._people: dict[str, Person] = {}  # entry id → who joined
        self._seen: set[str] = set()  # invited entries already decided
        self._due: list[tuple[datetime, str]] = []  # (when they call, entry id)
        self._number = 1_000_000

    async def join(
        self, services: tuple[str, ...], at: datetime, set_clock: Callable[[datetime], None]
    ) -> int:
        """Today's joins, from `at` a minute apart, one after the other; how many people were
        invented. Each joins at a moment of their own: the waitlist ranks equal scores by
        join time, then by entry id (a random UUID), so joins at one instant would be put
        in line by chance, and the launch's waves would invite others each run."""
        wanting: list[tuple[Person, JoinRequest]] = []
        for service in services:
            rate = self._demand.waitlist_joins_week.get(service, 1.0) / 7
            if service == self._tally.launched:
                rate *= self._demand.joins_after_launch
            for _ in range(poisson(self._rng, rate * seasonal(at.date()))):
                self._number += 1  # their own numbers: never a patient's email
                person = invent(self._rng, self._number, self._zips, service)
                wanting.append((person, self._request(person)))
        for n, (person, request) in enumerate(wanting):
            set_clock(at + timedelta(minutes=n))
            entry_id = await self._join(request)
            if entry_id is not None:
                self._people[entry_id] = person
                self._tally.joined[person.service] += 1
        return len(wanting)

    def _request(self, person: Person) -> JoinRequest:
        contact = Contact(person.first_name, person.last_name, person.email, None)
        campaign = self._rng.choice(("newsletter", "clinic-site", "health-fair"))
        return JoinRequest(
            person.service, contact, person.zip, self._rng.randint(1, 5), campaign=campaign
        )

    async def _join(self, request: JoinRequest) -> str | None:
        try:
            made = await self._c.waitlist.entries.join(ANONYMOUS, request)
        except DomainError:
            return None
        return made.id

    async def launch(self, service: str) -> None:
        launched = await self._c.waitlist.launches.launch(ADMIN, service)
        self._tally.launched = service
        if launched.wave is not None:
            await self._invited(service, self._c.clock.now())

    async def follow_up(self, service: str, now: datetime) -> list[Converted]:
        """The launcher's periodic job, then the calls of the invited who are due now: the
        people booked, with their booking ids."""
        await self._c.waitlist.launches.run_due(now)
        await self._invited(service, now)
        due = [(at, e) for at, e in self._due if at <= now]
        self._due = [(at, e) for at, e in self._due if at > now]
        made = []
        for _, entry_id in due:
            booked = await self._convert(service, entry_id, now)
            if booked is not None:
                made.append(booked)
        return made

    async def _invited(self, service: str, now: datetime) -> None:
        listed = await self._c.waitlist.entries.listed(ADMIN, service, "invited", limit=1000)
        for entry in listed.entries:
            if entry.id in self._seen:
                continue
            self._seen.add(entry.id)
            self._tally.invited += 1
            if entry.id not in self._people and entry.email:  # joined before the simulation
                self._number += 1
                self._people[entry.id] = Person(
                    self._number, entry.first_name or "", entry.last_name or "",
                    entry.zip or self._zips.zips[0], "waitlist", service, email=entry.email,
                )  # fmt: skip
            invited = entry.status_at  # when the link went out (seen here up to a day later)
            waited = (invited - entry.joined_at).total_seconds() / 86_400
            chance = conversion_chance(self._demand, entry.interest_level, waited, entry.campaign)
            if self._rng.random() < chance:
                # They call within the link's 48 hours (its own clock, not when seen here).
                calls = invited + timedelta(hours=self._rng.randint(2, 44))
                self._due.append((max(calls, now), entry.id))

    async def _convert(self, service: str, entry_id: str, now: datetime) -> Converted | None:
        durations = self._c.catalog.services[service].visit_types["initial"].durations or ()
        duration = min(durations)
        lo = now + timedelta(days=1)
        slots = await self._c.availability.slots(
            service, "initial", duration, lo, lo + timedelta(days=14), None
        )
        if not slots:
            return None
        slot = self._rng.choice(slots[:8])
        practitioner = self._rng.choice(slot.practitioners)
        ask = ClaimAsk(slot.start, duration, "initial", practitioner)
        try:
            _, booked = await self._c.waitlist.conversions.convert(self._desk, entry_id, ask)
        except DomainError:
            return None
        self._tally.converted += 1
        person = self._people.get(entry_id)
        if person is None:  # no email to book with: booked, but not followed
            return None
        person.source = "waitlist"
        return Converted(person, booked.id, duration, slot.start, slot.end, practitioner)
