"""US ZIP codes from the offline `zipcodes` data: whether one exists, and where it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import zipcodes

from clinicflow.waitlist.domain.geo import great_circle_miles

FIVE_DIGITS = re.compile(r"[0-9]{5}")


@dataclass(frozen=True, slots=True)
class ZipPlace:
    zip: str
    lat: float
    lon: float


@lru_cache(maxsize=8192)
def _record(zip5: str) -> dict[str, object] | None:
    if not FIVE_DIGITS.fullmatch(zip5):
        return None
    found: list[dict[str, object]] = zipcodes.matching(zip5)  # type: ignore[no-untyped-call]
    return found[0] if found else None


def exists(zip5: str) -> bool:
    return _record(zip5) is not None


def place(zip5: str) -> ZipPlace | None:
    """Where the ZIP's centroid is; None when the data does not know it (or its place)."""
    record = _record(zip5)
    if record is None:
        return None
    try:
        return ZipPlace(zip5, float(str(record["lat"])), float(str(record["long"])))
    except (KeyError, TypeError, ValueError):
        return None


def distance_miles(a: str, b: str) -> float | None:
    """Great-circle miles between two ZIP centroids; None when either place is unknown."""
    first, second = place(a), place(b)
    if first is None or second is None:
        return None
    return great_circle_miles((first.lat, first.lon), (second.lat, second.lon))
