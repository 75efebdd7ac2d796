"""`clinicflow simulate`: a simulated month's figures are those of a plausible clinic
(no-show rate, statuses, every visit in working hours and none overlapping), and the launch
partway through converts some of the waitlist. (That one seed makes one history, its tally
and its events day by day: test_simulation_seed.py.)"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from clinicflow.catalog import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.simulation import Tally
from support.once import once_per_run
from support.simulation import Booking, Day, Simulated, simulate

OCCUPYING = {"confirmed", "checked_in", "completed", "no_show", "held"}


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    """One simulated month, read by several tests (a month takes seconds): made once a run,
    whichever xdist workers run them (support/once.py)."""

    def make(folder: Path) -> tuple[Tally, list[Booking], Counter[tuple[Day, str]], Counter[str]]:
        made = asyncio.run(simulate(folder, days=30, practitioners=3, seed=5))
        return made.tally, made.bookings, made.days, made.events

    # The catalog does not pickle (its mappings are read-only proxies): the clinic file the
    # simulation wrote, loaded as its container loaded it.
    (tally, bookings, days, events), folder = once_per_run(tmp_path_factory, "month", make)
    return Simulated(tally, load_catalog(folder / "simulated-clinic.yaml"), bookings, days, events)


def test_a_simulated_month_has_a_plausible_clinics_figures(month: Simulated) -> None:
    tally = month.tally
    assert set(tally.statuses) <= OCCUPYING | {"cancelled", "expired"}
    for status in ("completed", "no_show", "cancelled", "confirmed"):
        assert tally.statuses.get(status, 0) > 0, tally.statuses
    assert 0.02 <= tally.no_shows / (tally.visits + tally.no_shows) <= 0.2
    assert tally.cancellations < tally.visits / 3
    assert tally.paid_cents > 0
    assert 0 < tally.refunded_cents < tally.paid_cents / 10
    assert {"referral", "campaign", "other", "established"} <= set(tally.sources)
    assert tally.left_out == ("weight_loss: durations or prices are TBD in clinic.yaml",)


def test_every_visit_is_in_working_hours_and_none_overlap(month: Simulated) -> None:
    by_practitioner: dict[str, list[Booking]] = defaultdict(list)
    for booking in month.bookings:
        assert _in_hours(month.catalog, booking), booking
        if booking.status in OCCUPYING:
            by_practitioner[booking.practitioner].append(booking)
    assert set(by_practitioner) == {"doctor1", "gaps_coach", "counselor1"}
    for own in by_practitioner.values():
        own.sort(key=lambda b: b.block_start)
        for before, after in pairwise(own):
            assert before.block_end <= after.block_start, (before, after)


def test_the_launch_converts_some_of_the_waitlist(month: Simulated) -> None:
    tally = month.tally
    assert tally.launched == "counseling"
    assert tally.joined["counseling"] > 0
    assert tally.joined["equine_therapy"] > 0
    assert 0 < tally.converted <= tally.invited
    assert tally.waitlist.get("booked", 0) + tally.waitlist.get("converted", 0) == tally.converted
    assert tally.sources["waitlist"] > 0


def _in_hours(catalog: Catalog, booking: Booking) -> bool:
    tz = catalog.clinic.tz
    start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
    person = catalog.practitioners[booking.practitioner]
    day = start.date()
    hours = person.exceptions.get(day, person.weekly_hours.get(day.weekday(), ()))
    return any(h.start <= start.time() and end.time() <= h.end for h in hours)
