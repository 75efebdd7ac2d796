"""`clinicflow simulate`: one seed makes one history, day by day. Two runs with a seed record
the same events on each day (bookings, check-ins, completions, no-shows, cancellations,
moves, payments and refunds per service and practitioner, the waitlist's joins, invitations
and conversions), with the same times and facts, and end with the same tally (statuses,
money, sources, joins), whatever order the database answered the simulator's concurrent
steps in; another seed makes other days, so the check can fail.

A busy waitlist and a launch partway through: joins at one instant were ranked by their
random entry ids, so the launch's waves invited others each run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TypeVar

from clinicflow.simulation import Demand
from support.simulation import Simulated, simulate

K = TypeVar("K")
DEMAND = Demand(
    scale=0.5,
    established_per_practitioner=10,
    waitlist_joins_week={"counseling": 30.0, "equine_therapy": 2.0},
    launch_at=0.4,
)


async def _days(folder: Path, seed: int) -> Simulated:
    return await simulate(folder, days=8, practitioners=3, seed=seed, demand=DEMAND)


def _differing(a: Counter[K], b: Counter[K]) -> list[tuple[K, int, int]]:
    """The keys whose counts differ (the first ten), with both counts."""
    keys = sorted((k for k in a.keys() | b.keys() if a[k] != b[k]), key=repr)
    return [(k, a[k], b[k]) for k in keys[:10]]


async def test_one_seed_makes_the_same_days_and_another_seed_others(tmp_path: Path) -> None:
    first = await _days(tmp_path / "first", seed=11)
    again = await _days(tmp_path / "again", seed=11)
    other = await _days(tmp_path / "other", seed=12)
    tally = first.tally
    assert tally.launched == "counseling"
    assert tally.invited > 0
    assert tally.converted > 0
    kinds = {key[1] for key, _ in first.days}
    assert {"booking.created", "booking.completed", "payment.succeeded"} <= kinds
    assert {"waitlist.joined", "waitlist.invited", "waitlist.converted"} <= kinds
    assert again.tally == first.tally  # statuses, money, sources, joins and conversions
    assert _differing(first.days, again.days) == []
    assert _differing(first.events, again.events) == []
    assert _differing(first.days, other.days) != []
