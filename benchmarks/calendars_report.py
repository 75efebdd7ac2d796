"""The calendars benchmark's figures (benchmarks/calendars.py) and their report: the refresh's
wall time, calls, pace against Calendly's rate limit and what was stored; availability's
timings with and without the stored busy time, and their ratio."""

from __future__ import annotations

import bisect
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from calendars_clinic import HORIZON_DAYS, Sizes


@dataclass
class Timing:
    days: int
    with_sources: list[float]
    without: list[float]
    slots_with: int
    slots_without: int

    @property
    def ratio(self) -> float:
        return min(self.with_sources) / min(self.without)


@dataclass
class Figures:
    practitioners: int
    refresh_s: float
    calendly_s: float
    outcomes: Counter[tuple[str, str]]  # (source, kind) → practitioners
    calendly_calls: int
    calendly_most_in_flight: int
    calendly_in_flight_cap: int
    calendly_429s: int
    calendly_per_minute: int
    calendly_burst: int
    calendly_most_in_a_minute: int
    calendly_beyond_refill: float
    get_schedule_calls: int
    delta_calls: int
    graph_throttled: int
    given: Counter[str]  # source → busy items put in the fakes
    stored: Counter[str]  # source → intervals in the store after the refresh
    timings: list[Timing] = field(default_factory=list)
    bookings: int = 0  # the clinic's own, made before availability was timed


def most_in_a_window(arrivals: Sequence[float], seconds: float) -> int:
    times = sorted(arrivals)
    return max((bisect.bisect_left(times, t + seconds) - i for i, t in enumerate(times)), default=0)


def beyond_refill(arrivals: Sequence[float], per_minute: int) -> float:
    """The most requests that arrived in any stretch beyond what the token bucket refilled
    in it: a token bucket of `burst` was kept to if this is at most `burst` (the arrival
    times are the server's, so a call may show a hair early or late)."""
    times = sorted(arrivals)
    rate = per_minute / 60.0
    return max(
        (
            j - i + 1 - rate * (times[j] - times[i])
            for i in range(len(times))
            for j in range(i, len(times))
        ),
        default=0.0,
    )


def report_refresh(f: Figures, sizes: Sizes, say: Callable[[str], None]) -> None:
    outcomes = ", ".join(f"{s} {k}: {n}" for (s, k), n in sorted(f.outcomes.items()))
    say(
        f"Full {HORIZON_DAYS}-day refresh of {f.practitioners} practitioners, both sources, "
        f"{sizes.latency * 1000:.0f} ms per call: {f.refresh_s:.2f} s "
        f"(Calendly done at {f.calendly_s:.2f} s)  [{outcomes}]"
    )
    say(
        f"  Calendly: {f.calendly_calls} calls /user_busy_times, at most "
        f"{f.calendly_most_in_flight} in flight (gate: {f.calendly_in_flight_cap}), "
        f"{f.calendly_most_in_a_minute} in any 60 s (limit {f.calendly_per_minute}/min), at "
        f"most {f.calendly_beyond_refill:.1f} beyond the refill ({f.calendly_per_minute / 60:.2f}"
        f"/s) in any stretch (burst {f.calendly_burst}), {f.calendly_429s} × 429"
    )
    say(
        f"  Microsoft Graph: {f.get_schedule_calls} getSchedule call(s), {f.delta_calls} "
        f"calendarView/delta pages (each mailbox's new cursor), {f.graph_throttled} throttled"
    )
    say(
        "  Busy items in the fakes that block time / intervals stored: "
        + ", ".join(f"{s} {f.given[s]} / {f.stored[s]}" for s in sorted(f.given))
    )


def report_availability(f: Figures, say: Callable[[str], None]) -> None:
    for t in f.timings:
        say(
            f"Availability, {f.practitioners} practitioners × {t.days} days "
            f"(container.availability.slots, no cache, {f.bookings} clinic bookings), "
            f"{len(t.with_sources)} repeats:"
        )
        for label, times, slots in (
            ("with both sources' busy time", t.with_sources, t.slots_with),
            ("no external source wired", t.without, t.slots_without),
        ):
            say(
                f"  {label:<29} best {min(times) * 1000:7.1f} ms, median "
                f"{statistics.median(times) * 1000:7.1f} ms  ({slots} start times)"
            )
        median = statistics.median(t.with_sources) / statistics.median(t.without)
        say(f"  ratio with / without: {t.ratio:.2f}× (best), {median:.2f}× (median); target ≤ 1.5×")
