"""Positions: the rank within a service by score (highest first), then by join time
(earliest first), then by id, so the order is total and every reader computes the same one.

Scores are compared at nine decimals: two entries whose components are equal in value but
were summed in a different floating-point order still tie, and fall back to join time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Ranked:
    id: str
    score: float
    joined_at: datetime


def order_key(item: Ranked) -> tuple[float, datetime, str]:
    return (-round(item.score, 9), item.joined_at, item.id)


def positions(items: Iterable[Ranked]) -> dict[str, int]:
    """Entry id → position, 1 for the first in line."""
    ordered = sorted(items, key=order_key)
    return {item.id: n for n, item in enumerate(ordered, start=1)}
