"""The planning models' pure rules: AUC by ranks, wave sizing, capacity and its flags, the
greedy rule against CP-SAT on a week where the greedy rule goes wrong, the pickup count and
the book it counts on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from clinicflow.catalog import LocalInterval, Practitioner, TimeOff
from clinicflow.forecasting.demand.domain.capacity import day_minutes, flag_weeks
from clinicflow.forecasting.demand.domain.pickup import Book, books, predict
from clinicflow.forecasting.demand.domain.series import Visit, WindowError, mase
from clinicflow.forecasting.scheduling.domain.solver import propose
from clinicflow.forecasting.scheduling.domain.week import Rules, Week, greedy, possible_slots
from clinicflow.forecasting.waitlist.domain.conversion import auc, wave_size

TZ = ZoneInfo("America/Chicago")
MONDAY = date(2026, 11, 9)


def _practitioner(key: str, services: tuple[str, ...], days: tuple[int, ...]) -> Practitioner:
    hours = (LocalInterval(time(9), time(13)),)
    return Practitioner(key, key, "", services, {d: hours for d in days}, {})


def test_auc_counts_ranks_and_ties() -> None:
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5


def test_a_wave_invites_until_the_expected_first_visits_fill_the_places() -> None:
    assert wave_size(2, [0.9, 0.6, 0.5, 0.5]) == 3  # 0.9 + 0.6 + 0.5 = 2.0
    assert wave_size(10, [0.5, 0.5]) == 2  # everyone, and still short
    assert wave_size(3, [0.5] * 10, cap=4) == 4


def test_capacity_is_the_hours_less_time_off_and_a_week_over_it_is_flagged() -> None:
    p = _practitioner("a", ("x",), (0,))
    off = TimeOff(datetime(2026, 11, 9, 12, tzinfo=TZ), datetime(2026, 11, 9, 14, tzinfo=TZ))
    assert day_minutes(p, MONDAY, TZ) == 240
    assert (
        day_minutes(Practitioner("a", "a", "", ("x",), p.weekly_hours, {}, (off,)), MONDAY, TZ)
        == 180
    )
    weeks = flag_weeks(
        {("x", MONDAY): (10.0, 8.0, 12.0), ("x", MONDAY + timedelta(7)): (30.0, 25.0, 35.0)},
        {"x": 20.0},
        {("x", MONDAY): 240, ("x", MONDAY + timedelta(7)): 240},
    )
    assert [(w.demand_min, w.over) for w in weeks] == [(200.0, False), (600.0, True)]


def test_the_forecast_is_what_is_booked_plus_what_usually_comes_on_top() -> None:
    visits = []
    start = date(2026, 8, 3)  # a Monday; every Monday: 2 booked a week ahead, 1 on the day
    for week in range(12):
        day = start + timedelta(weeks=week)
        at = datetime.combine(day, time(10), TZ)
        for ahead in (7, 7, 0):
            made = at - timedelta(days=ahead)
            visits.append(Visit("x", "a", at, at + timedelta(minutes=30), made))
    book = books(visits, TZ, by_practitioner=False)["x"]
    cutoff = start + timedelta(weeks=11) - timedelta(days=1)  # the Sunday before week 12
    [(mean, spread)] = predict(book, cutoff, [cutoff + timedelta(days=1)])
    assert (mean, spread) == (3.0, 0.0)  # 2 on the books, 1 more every week before


_DAYS = st.dates(date(2026, 1, 1), date(2026, 1, 20))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(_DAYS, _DAYS, st.none() | _DAYS), max_size=40),
    day=_DAYS,
    as_of=_DAYS,
)
def test_a_book_counts_what_a_scan_of_every_row_counts(
    rows: list[tuple[date, date, date | None]], day: date, as_of: date
) -> None:
    """The book's rows kept by start day change no count: each is what a scan of every row
    (the definition) gives."""
    book = Book("x", tuple(rows))
    assert book.on_books(day, as_of) == sum(
        1
        for start, made, gone in rows
        if start == day and made <= as_of and (gone is None or gone > as_of)
    )
    assert book.final(day) == sum(1 for start, _, gone in rows if start == day and gone is None)


def test_mase_scales_each_window_and_skips_constant_training() -> None:
    errors = [
        WindowError("x", MONDAY, 1.0, 2.0, 2.0),
        WindowError("x", MONDAY, 3.0, 3.0, 0.0),  # nothing to scale by
    ]
    assert mase(errors) == 0.5


def test_cp_sat_gives_the_shared_hours_to_the_service_only_they_can_serve() -> None:
    # "both" can do x and y, "only_x" only x. Greedy, in catalog order, spends some of both's
    # hours on x (the most unmet at the time), which only_x could have served: y falls short.
    both = _practitioner("both", ("x", "y"), (0,))
    only_x = _practitioner("only_x", ("x",), (0,))
    slots = possible_slots([both, only_x], MONDAY, TZ, {"x", "y"})
    demand = {("x", MONDAY): 240, ("y", MONDAY): 180}
    week = Week(MONDAY, tuple(slots), demand, {"x": 30.0, "y": 30.0})
    rules = Rules(max_week_hours=10, max_day_hours=4)
    rule = greedy(week, rules)
    solved = propose(week, rules, seconds=5)
    assert solved.status == "OPTIMAL"
    assert rule.served_visits(week.minutes) == 10.0  # x fully served by both's hours, y: 2
    assert solved.plan.served_visits(week.minutes) == 14.0  # 8 of x, 6 of y: everything
    assert all(h.start.tzinfo is not None for h in solved.plan.shifts)


def test_nothing_to_gain_when_demand_is_far_under_capacity() -> None:
    both = _practitioner("both", ("x", "y"), (0, 1))
    slots = possible_slots([both], MONDAY, TZ, {"x", "y"})
    demand = {("x", MONDAY): 60, ("y", MONDAY + timedelta(1)): 60}
    week = Week(MONDAY, tuple(slots), demand, {"x": 30.0, "y": 30.0})
    rules = Rules()
    assert propose(week, rules).plan.served_visits(week.minutes) == 4.0
    assert greedy(week, rules).served_visits(week.minutes) == 4.0
    assert UTC  # the module's instants are aware throughout
