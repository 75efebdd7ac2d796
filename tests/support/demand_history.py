"""Nine weeks of alternative-medicine visits before the suite's day, booked through the real
use cases with the clock set back, and moved into the analytics lake: enough history for the
demand forecast (63 days), in a few seconds rather than a simulation's minutes.

Two visits every weekday with doctor1 (10:00 and 10:30, clinic time) from Monday 21
September to Friday 20 November 2026, each booked a week before. `away_week` gives
every practitioner of alternative medicine the days off of one week, so its capacity is
nothing and that week's forecast passes it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.bootstrap import Container
from clinicflow.catalog import Catalog
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock

FIRST = date(2026, 9, 21)
LAST = date(2026, 11, 20)
LEAD_DAYS = 7  # each visit booked a week ahead, at 9:00
SERVICE = "alternative_medicine"
AWAY = date(2026, 12, 14)  # the third forecast week (the forecast's weeks start 30 November)


def away_week(catalog: Catalog, monday: date = AWAY) -> Catalog:
    """`catalog` with every alternative-medicine practitioner off for the week of `monday`."""
    days = {monday + timedelta(days=i): () for i in range(7)}
    people = {
        key: replace(p, exceptions={**p.exceptions, **days}) if SERVICE in p.services else p
        for key, p in catalog.practitioners.items()
    }
    return replace(catalog, practitioners=people)


async def plant_demand(container: Container, clock: FixedClock) -> int:
    """The visits booked, their events recorded and the lake written; the clock back where
    it stood. How many visits."""
    back_to = clock.now()
    tz = container.catalog.clinic.tz
    n = 0
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            clock.set(datetime.combine(day - timedelta(days=LEAD_DAYS), time(9), tz))
            for at in (time(10), time(10, 30)):
                n += 1
                start = datetime.combine(day, at, tz)
                slot = SlotRequest(SERVICE, "initial", 20, start, "doctor1")
                who = PatientDetails(f"Demand{n}", "Planted", f"demand{n}@example.com", None)
                await container.bookings.book(ANONYMOUS, BookRequest(slot, who), None)
        day += timedelta(days=1)
    await container.bus.run_once()
    clock.set(back_to)
    await container.analytics.writer.sync()
    return n
