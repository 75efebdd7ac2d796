"""The calendars benchmark (benchmarks/calendars.py) run small, so its wiring cannot rot: two
practitioners, a busy item or two a day and a visit of the clinic's own, no latency, one
repeat. It asserts on what the run
counts (calls, outcomes, intervals stored, slots), never on time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark is a script, not a package

import calendars as bench  # noqa: E402

pytestmark = pytest.mark.slow


async def test_the_benchmark_refreshes_both_sources_and_times_availability(
    database_url: str, tmp_path: Path
) -> None:
    sizes = bench.Sizes(
        practitioners=2, per_day=(1, 2), latency=0.0, repeat=1, ranges=(7,), bookings_per_day=1
    )
    lines: list[str] = []

    f = await bench.measure(database_url, tmp_path, sizes, out=lines)

    assert f.outcomes == {("calendly", "full"): 2, ("microsoft", "full"): 2}
    # 60 days in windows of at most 7 days: 9 Calendly calls a practitioner.
    assert f.calendly_calls == 2 * 9
    assert f.calendly_429s == 0
    assert 1 <= f.calendly_most_in_flight <= f.calendly_in_flight_cap
    assert f.calendly_most_in_a_minute <= f.calendly_per_minute
    assert f.calendly_beyond_refill <= f.calendly_burst + 1
    # One getSchedule for every mailbox and the whole window; a delta cursor per mailbox.
    assert f.get_schedule_calls == 1
    assert f.delta_calls >= 2
    assert f.graph_throttled == 0
    # Every Calendly item stored once; every blocking Outlook event at least once.
    assert f.given["calendly"] > 0
    assert f.stored["calendly"] == f.given["calendly"]
    assert f.stored["microsoft"] >= f.given["microsoft"] > 0

    # The clinic's own visits, one a working day each, booked before availability is timed.
    assert f.bookings == 2 * len(bench.working_days(bench.NOW, bench.HORIZON_DAYS))

    [timing] = f.timings
    assert timing.days == 7
    assert len(timing.with_sources) == len(timing.without) == 1
    # The external busy time takes start times away; without it, more are open.
    assert 0 < timing.slots_with < timing.slots_without
    assert lines[0].startswith("Full 60-day refresh of 2 practitioners")
    assert any("ratio with / without" in line for line in lines)
