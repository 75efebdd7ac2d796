"""The simulator's planted waitlist conversions (simulation/demand.py `conversion_chance`):
the reference person converts at `convert_invited`; interest and an in-person campaign
raise the chance, waiting lowers it."""

from __future__ import annotations

import pytest

from clinicflow.simulation.demand import Demand, conversion_chance


def test_the_reference_person_converts_at_the_set_rate() -> None:
    assert conversion_chance(Demand(), 4, 90.0, "clinic-site") == pytest.approx(0.6)


def test_interest_and_a_health_fair_raise_it_and_waiting_lowers_it() -> None:
    d = Demand()
    base = conversion_chance(d, 4, 90.0, "clinic-site")
    assert conversion_chance(d, 5, 90.0, "clinic-site") > base
    assert conversion_chance(d, 4, 90.0, "health-fair") > base
    assert conversion_chance(d, 4, 90.0, "newsletter") < base
    assert conversion_chance(d, 4, 150.0, "clinic-site") < base
    assert conversion_chance(d, 4, 400.0, "clinic-site") == conversion_chance(
        d, 4, 180.0, "clinic-site"
    )  # waits past 180 days count as 180


def test_a_flat_rate_is_a_flat_rate() -> None:
    assert conversion_chance(Demand(convert_invited=1.0), 1, 0.0, None) == 1.0
