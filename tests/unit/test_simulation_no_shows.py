"""The simulator's planted no-show effects (simulation/demand.py `no_show_chance`,
docs/simulation.md, docs/ml.md): each raises the chance where it says, and only there."""

from __future__ import annotations

import pytest

from clinicflow.simulation.demand import Demand, no_show_chance

D = Demand()


def test_a_near_midday_follow_up_of_someone_reliable_is_rarely_missed() -> None:
    assert no_show_chance(D, lead=3, earlier=0, first=False, hour=11.5) == pytest.approx(0.013)


def test_an_earlier_no_show_raises_it_as_a_step() -> None:
    once = no_show_chance(D, lead=3, earlier=1, first=False, hour=11.5)
    twice = no_show_chance(D, lead=3, earlier=2, first=False, hour=11.5)
    assert once == twice == pytest.approx(0.413)


@pytest.mark.parametrize(
    ("hour", "lead", "raised"),
    [
        (9.5, 8, True),  # early, booked over a week ahead
        (16.0, 14, True),  # late
        (9.5, 7, False),  # early but booked a week ahead or less
        (12.0, 20, False),  # booked far ahead, but midday
        (15.75, 20, False),
    ],
)
def test_the_day_s_edges_booked_far_ahead(hour: float, lead: int, raised: bool) -> None:
    base = D.no_show_base + D.no_show_per_lead_day * lead
    got = no_show_chance(D, lead=lead, earlier=0, first=False, hour=hour)
    assert got == pytest.approx(base + (D.no_show_edge_hours if raised else 0.0))


def test_a_far_off_first_visit_and_the_cap() -> None:
    near = no_show_chance(D, lead=10, earlier=0, first=True, hour=12)
    far = no_show_chance(D, lead=11, earlier=0, first=True, hour=12)
    assert far - near == pytest.approx(D.no_show_far_first + D.no_show_per_lead_day)
    worst = no_show_chance(D, lead=30, earlier=3, first=True, hour=8)
    assert worst == D.no_show_cap
