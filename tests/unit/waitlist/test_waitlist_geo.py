"""Distances between ZIP codes from the offline data, and the bands statistics use."""

from __future__ import annotations

import pytest

from clinicflow.waitlist.domain import zips
from clinicflow.waitlist.domain.geo import band_names, distance_band, great_circle_miles

# Published great-circle distances between the cities' centres, in miles.
KNOWN = [
    ("78701", "75201", 182),  # Austin – Dallas
    ("78701", "77002", 146),  # Austin – Houston
    ("78701", "78205", 74),  # Austin – San Antonio
    ("60601", "02108", 851),  # Chicago – Boston
    ("94103", "98101", 679),  # San Francisco – Seattle
    ("10001", "90001", 2445),  # New York – Los Angeles
]


@pytest.mark.parametrize(("a", "b", "miles"), KNOWN)
def test_zip_distances_match_known_city_pairs(a: str, b: str, miles: int) -> None:
    # ZIP centroids are not city centres: allow 1.5 % or 3 miles, whichever is more.
    found = zips.distance_miles(a, b)

    assert found == pytest.approx(miles, abs=max(3.0, miles * 0.015))
    assert zips.distance_miles(b, a) == pytest.approx(found)


def test_a_zip_is_no_distance_from_itself() -> None:
    assert zips.distance_miles("78701", "78701") == 0.0


def test_a_zip_the_data_does_not_know_has_no_place_and_no_distance() -> None:
    assert not zips.exists("00000")
    assert zips.place("00000") is None
    assert zips.distance_miles("00000", "78701") is None
    assert zips.place("7870") is None  # not five digits


def test_a_quarter_of_the_earth_round_is_a_quarter_of_its_circumference() -> None:
    quarter = great_circle_miles((0.0, 0.0), (0.0, 90.0))

    assert quarter == pytest.approx(2 * 3.141592653589793 * 3958.7613 / 4)


@pytest.mark.parametrize(
    ("miles", "band"),
    [(0, "0-15"), (15, "0-15"), (15.1, "15-30"), (60, "30-60"), (61, "60+"), (None, "unknown")],
)
def test_distances_fall_in_bands_with_the_edge_in_the_lower_band(
    miles: float | None, band: str
) -> None:
    assert distance_band(miles, (15.0, 30.0, 60.0)) == band


def test_band_names_cover_every_band_in_order() -> None:
    assert band_names((15.0, 30.0, 60.0)) == ("0-15", "15-30", "30-60", "60+", "unknown")
