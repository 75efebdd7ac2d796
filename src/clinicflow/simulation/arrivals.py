"""New patients arriving each day (by service, source and ZIP), and those already in care
when the simulated days begin; the desk registers each one's record."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta

from clinicflow.bootstrap import Container
from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.domain.patient import Address, PatientFields, Referral
from clinicflow.shared.actor import Actor
from clinicflow.simulation.agenda import MORNING, Agenda, Ask
from clinicflow.simulation.demand import (
    DEFAULT_PATH,
    PATHS,
    Demand,
    lead_days,
    poisson,
    seasonal,
    weeks_in_programme,
)
from clinicflow.simulation.people import CAMPAIGNS, Neighbourhood, Person, invent
from clinicflow.simulation.tally import Tally


class Arrivals:
    def __init__(
        self,
        container: Container,
        rng: random.Random,
        demand: Demand,
        agenda: Agenda,
        tally: Tally,
        desk: Actor,
        services: list[str],  # the services booked now (the launch adds one)
    ) -> None:
        self._c, self._rng, self._demand = container, rng, demand
        self._agenda, self._tally, self._desk = agenda, tally, desk
        self._services = services
        self.zips = Neighbourhood(container.catalog.clinic.zip)
        self.people: list[Person] = []

    def _mix(self) -> tuple[list[str], list[float]]:
        """The services taking new patients now, with new patients a week for each."""
        weights = [
            len(self._c.catalog.practitioners_for(s)) * PATHS.get(s, DEFAULT_PATH).new_per_week
            for s in self._services
        ]
        return self._services, weights

    async def arrive(self, day: date) -> None:
        services, weights = self._mix()
        rate = self._demand.scale * sum(weights) / 7 * seasonal(day)
        arriving = [
            self._invent(self._rng.choices(services, weights)[0])
            for _ in range(poisson(self._rng, rate))
        ]
        for person in arriving:
            self._source(person)
        await self._register(arriving)
        for person in arriving:
            person.stay_weeks = self.stay(person.service)
            lead = lead_days(self._rng, self._demand.lead_mean_days)
            self._agenda.ask(day, MORNING, Ask(person, "initial", lead))

    async def established(self, first: date, practitioners: int) -> None:
        """Patients already in care when the simulated days begin: they book follow-ups."""
        services = self._services  # in care in proportion to who offers each service
        weights = [len(self._c.catalog.practitioners_for(s)) for s in services]
        count = self._demand.established_per_practitioner * practitioners
        people = [self._invent(self._rng.choices(services, weights)[0]) for _ in range(count)]
        await self._register(people)
        for person in people:
            person.source = "established"
            person.visits = self._rng.randint(1, 6)
            person.first_visit = first - timedelta(weeks=self._rng.uniform(1, 16))
            elapsed = (first - person.first_visit).days / 7
            person.stay_weeks = max(self.stay(person.service), elapsed + self._rng.uniform(1, 12))
            when = first + timedelta(days=self._rng.randint(0, 13))
            self._agenda.ask(when, MORNING, Ask(person, "followup", self._rng.randint(1, 7)))
        self._tally.sources["established"] += len(people)

    def _invent(self, service: str) -> Person:
        person = invent(self._rng, len(self.people) + 1, self.zips, service)
        self.people.append(person)
        return person

    def _source(self, person: Person) -> None:
        r, d = self._rng.random(), self._demand
        known = [p for p in self.people[-400:] if p.patient_id is not None]
        if r < d.referral_share and known:
            person.source, person.referred_by = "referral", self._rng.choice(known).patient_id
        elif r < d.referral_share + d.campaign_share:
            person.source, person.campaign = "campaign", self._rng.choice(CAMPAIGNS)
        self._tally.sources[person.source] += 1

    def stay(self, service: str) -> float:
        return weeks_in_programme(self._rng, PATHS.get(service, DEFAULT_PATH).stay_scale)

    async def _register(self, people: list[Person]) -> None:
        """The desk makes each record: ZIP (in the address) and how they found the clinic."""

        async def one(person: Person) -> None:
            referral = {
                "referral": Referral("patient", patient_id=person.referred_by),
                "campaign": Referral("campaign", campaign=person.campaign),
            }.get(person.source, Referral("other"))
            city, state = self.zips.city(person.zip)
            fields: PatientFields = {
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "address": Address(f"{person.number} Example Street", city, state, person.zip),
                "referral": referral,
            }
            made = await self._c.patients.create(self._desk, PatientChanges(fields))
            person.patient_id = made.id

        await asyncio.gather(*(one(p) for p in people))
        self._tally.patients += len(people)
