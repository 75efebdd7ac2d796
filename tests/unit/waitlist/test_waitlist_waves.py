"""Pure rules behind launch waves and freed-slot offers: capacity from open slots, wave size,
which entries a slot suits, what a launch still lacks, and the timing settings (booking's view
of launched services: tests/unit/catalog/test_launches.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicflow.catalog import Service, VisitType
from clinicflow.waitlist.domain.matching import fits_times, suits
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.domain.waves import OpenSlot, capacity, launch_problems, wave_size

MON = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 10:00 in Chicago


def slot(minute: int, length: int = 50, who: tuple[str, ...] = ("c1",)) -> OpenSlot:
    start = MON + timedelta(minutes=minute)
    return OpenSlot(start, start + timedelta(minutes=length), who)


def test_overlapping_starts_count_once_per_visit_that_fits() -> None:
    # Every 30 minutes from 10:00 to 11:00 for a 50-minute visit: two fit side by side.
    starts = [slot(0), slot(30), slot(60)]
    assert capacity(starts) == 2
    assert capacity(starts, gap_minutes=10) == 2  # 10:00–10:50, +10 → 11:00 still fits
    assert capacity(starts, gap_minutes=11) == 1


def test_each_practitioner_counts_on_their_own() -> None:
    assert capacity([slot(0, who=("c1", "c2")), slot(30, who=("c2",))]) == 2
    assert capacity([]) == 0


slots = st.lists(
    st.builds(
        slot,
        st.integers(min_value=0, max_value=7 * 24 * 60),
        st.sampled_from([15, 30, 50, 60]),
        st.sampled_from([("a",), ("b",), ("a", "b")]),
    ),
    max_size=40,
)


@given(slots, st.integers(min_value=0, max_value=30))
def test_capacity_never_exceeds_the_starts_offered(found: list[OpenSlot], gap: int) -> None:
    assert 0 <= capacity(found, gap) <= sum(len(s.practitioners) for s in found)


@given(slots, slots)
def test_more_open_slots_never_lower_capacity(found: list[OpenSlot], more: list[OpenSlot]) -> None:
    # Earliest-end-first is optimal for interval scheduling, so adding slots cannot hurt.
    assert capacity(found + more) >= capacity(found)


@given(st.integers(-5, 50), st.integers(0, 50))
def test_a_wave_is_never_larger_than_places_or_people(places: int, people: int) -> None:
    size = wave_size(places, people)
    assert 0 <= size <= max(0, min(places, people))


def test_preferred_times_and_practitioner_decide_which_entries_a_slot_suits() -> None:
    tue_5pm = datetime(2026, 11, 24, 17, 0)
    evening = [{"weekday": "tue", "start": "17:00", "end": "19:00"}]
    assert fits_times([], tue_5pm, tue_5pm + timedelta(minutes=50))
    assert fits_times(evening, tue_5pm, tue_5pm + timedelta(minutes=50))
    assert not fits_times(evening, tue_5pm, tue_5pm + timedelta(hours=2, minutes=1))
    assert not fits_times(
        evening, tue_5pm + timedelta(days=1), tue_5pm + timedelta(days=1, hours=1)
    )
    end = tue_5pm + timedelta(minutes=50)
    assert suits(None, [], "doctor1", tue_5pm, end)
    assert suits("doctor1", evening, "doctor1", tue_5pm, end)
    assert not suits("doctor2", [], "doctor1", tue_5pm, end)


def service(**over: object) -> Service:
    base: dict[str, object] = {
        "key": "counseling",
        "name": "Counseling",
        "active": False,
        "waitlist": True,
        "launch_date": None,
        "visit_types": {
            "initial": VisitType("initial", (50,), 15000),
            "followup": VisitType("followup", (50,), 12000),
        },
        "calendars": ("counselor1",),
    }
    return Service(**(base | over))  # type: ignore[arg-type]


def test_a_launch_lacks_nothing_when_durations_prices_and_a_practitioner_are_given() -> None:
    assert launch_problems(service()) == []


def test_a_launch_names_each_tbd_item_and_missing_practitioners() -> None:
    tbd = {"initial": VisitType("initial", None, None), "followup": VisitType("followup", (50,), 1)}
    found = [m for _, m in launch_problems(service(visit_types=tbd, calendars=()))]
    assert found == [
        "initial visit durations are not decided yet (TBD)",
        "initial visit price is not decided yet (TBD)",
        "no practitioner offers this service",
    ]
    nothing = launch_problems(service(visit_types={}))
    assert [item for item, _ in nothing] == ["durations", "pricing"]
    no_initial = launch_problems(service(visit_types={"followup": VisitType("followup", (50,), 1)}))
    assert [item for item, _ in no_initial] == ["durations"]


def test_timing_refuses_values_that_cannot_work() -> None:
    assert Timing().offer_window == timedelta(minutes=30)
    assert Timing().invitation_window == timedelta(hours=48)
    with pytest.raises(ValueError, match="offer_minutes"):
        Timing(offer_minutes=0)
    with pytest.raises(ValueError, match="wave_weeks"):
        Timing(wave_weeks=20)
