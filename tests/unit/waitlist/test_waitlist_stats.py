"""Waitlist statistics over plain rows: weeks, distributions, funnel, potential."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from clinicflow.waitlist.domain.stats import (
    StatRow,
    funnel,
    safe_zip3,
    summarize,
    weekly_joins,
)

AT = datetime(2026, 11, 20, tzinfo=UTC)
TODAY = date(2026, 11, 24)  # a Tuesday in ISO week 48
BANDS = (15.0, 30.0, 60.0)


def row(status: str = "waiting", **kw: object) -> StatRow:
    base: dict[str, object] = {
        "status": status,
        "joined_on": TODAY,
        "zip3": "787",
        "distance_mi": 5.0,
    }
    return StatRow(**(base | kw))  # type: ignore[arg-type]


def test_weeks_are_iso_weeks_ending_with_this_one_zero_filled() -> None:
    joins = [date(2026, 11, 23), date(2026, 11, 29), date(2026, 11, 10), date(2026, 1, 1)]

    found = weekly_joins(joins, TODAY, 3)

    assert [(w.week, w.starts, w.joins) for w in found] == [
        ("2026-W46", date(2026, 11, 9), 1),
        ("2026-W47", date(2026, 11, 16), 0),
        ("2026-W48", date(2026, 11, 23), 2),  # Monday and Sunday of the same week
    ]


def test_iso_weeks_cross_the_year_by_iso_rules() -> None:
    found = weekly_joins([date(2027, 1, 1)], date(2027, 1, 1), 1)

    assert found[0].week == "2026-W53"


def test_the_funnel_rates_are_shares_of_the_previous_stage_and_none_when_empty() -> None:
    rows = [
        row(notified_at=AT, clicked_at=AT, booked_at=AT, paid_at=AT),
        row(notified_at=AT, clicked_at=AT, booked_at=AT),
        row(notified_at=AT, clicked_at=AT),
        row(notified_at=AT),
        row(booked_at=AT),  # booked by hand, never notified
    ]

    found = funnel(rows)

    assert found.counts == {"notified": 4, "clicked": 3, "booked": 3, "paid": 1}
    assert found.rates == {
        "notified_to_clicked": 0.75,
        "clicked_to_booked": pytest.approx(2 / 3),
        "booked_to_paid": pytest.approx(1 / 3),
    }
    assert funnel([row()]).rates == dict.fromkeys(found.rates)


def test_small_zip3_areas_are_reported_as_000() -> None:
    assert safe_zip3("036") == "000"
    assert safe_zip3("787") == "787"


def test_a_service_without_history_borrows_the_clinic_rate() -> None:
    rows = [row(), row(), row(status="withdrawn", distance_mi=None)]

    found = summarize("counseling", rows, today=TODAY, weeks=1, bands=BANDS, clinic_rate=0.25)

    assert found.conversion_rate == 0.25
    assert found.conversion_rate_basis == "clinic"
    assert found.conversion_potential == 0.5
    assert found.size == 2
    assert found.by_distance_band == {"0-15": 2, "15-30": 0, "30-60": 0, "60+": 0, "unknown": 0}


def test_without_any_history_there_is_no_rate_and_no_potential() -> None:
    found = summarize("counseling", [row()], today=TODAY, weeks=1, bands=BANDS, clinic_rate=None)

    assert found.conversion_rate is None
    assert found.conversion_rate_basis is None
    assert found.conversion_potential is None
