"""External calendars benchmark (issue 17): a full 60-day refresh of every practitioner from
the fake Calendly and the fake Microsoft Graph, then availability with and without the
busy time it stored.

Run from the repository root:

    PYTHONPATH=src .venv/bin/python benchmarks/calendars.py
    PYTHONPATH=src .venv/bin/python benchmarks/calendars.py --database-url postgresql+asyncpg://…

Set-up: the fakes (tests/support/fake_calendly.py, fake_graph.py) on 127.0.0.1, each holding
every request `--latency` seconds (0.05); a clinic file of its own (`--practitioners` (8), one
service, weekday hours, 60 days of advance booking) where each practitioner is a Calendly
user and a Microsoft 365 mailbox, each with 2–4 busy items a working day in each; a fresh
SQLite file, migrated (or `--database-url`: an empty database of yours, migrated first).

1. Refresh: the app's container (`bootstrap.build`) with both feeds as its calendar sources,
   and `CalendarsService.sync_all(full=True)`, timed. Printed: the wall time, the Calendly
   calls (8 × 9 windows of at most 7 days), the most in flight at once and the pace against
   the token's rate limit, the getSchedule calls (one for every mailbox) and the delta calls
   that start each mailbox's cursor.
2. Availability: `container.availability.slots` (the route's finder, no cache) for every
   practitioner over 7 and 60 days, in the container that has both sources (the store's
   busy time read for each question) and in one with no source wired (`feeds=[]`), on the
   same database; best and median of `--repeat` (20) each, and their ratio.

It prints; it never asserts on time (tests/integration/test_calendars_bench.py runs it small).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
# Runnable from a plain checkout (the package from src/), with the fake vendors of the tests.
sys.path.insert(1, str(ROOT / "src"))
sys.path.insert(1, str(ROOT / "tests"))

from clinicflow.adapters.calendars._calendly_http import (  # noqa: E402
    CalendlyClient,
    RateGate,
    calendly_breaker,
)
from clinicflow.adapters.calendars.calendly import CalendlyFeed  # noqa: E402
from clinicflow.booking.commands import BookRequest, SlotRequest  # noqa: E402
from clinicflow.bootstrap import Container, build  # noqa: E402
from clinicflow.bootstrap.microsoft import microsoft_calendar  # noqa: E402
from clinicflow.calendars.ports import BusyFeed  # noqa: E402
from clinicflow.calendars.views import SyncOutcome  # noqa: E402
from clinicflow.catalog import Catalog  # noqa: E402
from clinicflow.catalog.service import load_catalog  # noqa: E402
from clinicflow.infra.migrate import upgrade  # noqa: E402
from clinicflow.patients import PatientDetails  # noqa: E402
from clinicflow.settings import Settings  # noqa: E402
from clinicflow.shared.actor import SYSTEM  # noqa: E402
from clinicflow.shared.clock import FixedClock  # noqa: E402
from support.fake_calendly import TOKEN, FakeCalendly  # noqa: E402
from support.fake_calendly_wire import user_uri  # noqa: E402
from support.fake_graph import CLIENT_ID, CLIENT_SECRET, TENANT, FakeGraph  # noqa: E402

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 09:00 on a Tuesday at the clinic
SERVICE, VISIT, MINUTES = "consultation", "initial", 30
HORIZON_DAYS = 60  # the clinic's longest advance booking: what a full refresh reads
STARTS = list(range(8 * 60, 16 * 60, 15))  # minutes from local midnight: 08:00 … 15:45
SHOW_AS = ["busy"] * 7 + ["tentative", "oof", "free"]  # Outlook's mix; free does not block


@dataclass(frozen=True)
class Sizes:
    practitioners: int = 8
    per_day: tuple[int, int] = (2, 4)  # busy items a working day, in each source
    latency: float = 0.05
    repeat: int = 20
    ranges: tuple[int, ...] = (7, 60)  # days asked of availability
    seed: int = 17
    bookings_per_day: int = 0  # the clinic's own visits a working day per practitioner


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


def practitioner_keys(count: int) -> list[str]:
    return [f"prac{i}" for i in range(1, count + 1)]


def mailbox(key: str) -> str:
    return f"{key}@bench.clinic.example"


def clinic_yaml(keys: Sequence[str]) -> str:
    """A clinic whose practitioners all offer one service and each have both calendars."""
    lines = [
        "clinic: {name: Calendars bench clinic, timezone: America/Chicago, zip: '78701'}",
        "services:",
        f"  {SERVICE}:",
        "    active: true",
        f"    durations: {{{VISIT}: [{MINUTES}], followup: [15]}}",
        f"    pricing: {{{VISIT}: 100, followup: 60}}",
        f"    calendars: [{', '.join(keys)}]",
        "policy_defaults:",
        "  min_notice_min: 120",
        f"  max_advance_days: {HORIZON_DAYS}",
        "  slot_step_min: 15",
        "practitioners:",
    ]
    day = '["08:00-12:00", "13:00-17:00"]'
    for n, key in enumerate(keys, 1):
        lines += [
            f"  {key}:",
            f"    name: Practitioner {n}",
            "    title: Physician (MD)",
            f"    hours: {{mon: {day}, tue: {day}, wed: {day}, thu: {day}, fri: {day}}}",
            f"    microsoft: {{mailbox: {mailbox(key)}}}",
            f"    calendly: {{user: '{user_uri(key)}'}}",
        ]
    return "\n".join(lines) + "\n"


def working_days(start: datetime, days: int) -> list[datetime]:
    """Local midnights of the weekdays after `start`'s local day, up to `days` days on (so
    every item lies inside both a snapshot's window and a new delta cursor's)."""
    first = start.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for n in range(1, days):
        day = (first.replace(tzinfo=None) + timedelta(days=n)).replace(tzinfo=TZ)
        if day.weekday() < 5:
            out.append(day)
    return out


def _at(day: datetime, minute: int) -> datetime:
    local = day.replace(tzinfo=None) + timedelta(minutes=minute)
    return local.replace(tzinfo=TZ).astimezone(UTC)


def fill(
    calendly: FakeCalendly, graph: FakeGraph, keys: Sequence[str], sizes: Sizes
) -> Counter[str]:
    """2–4 busy items a working day per practitioner in each fake, from 08:00 to 17:00 local:
    Calendly bookings (with buffers) and external items; Outlook events, mostly busy. How many
    of them block time, by source."""
    rng = random.Random(sizes.seed)
    given: Counter[str] = Counter()
    lo, hi = sizes.per_day
    for key in keys:
        box = graph.mailbox(mailbox(key))
        for day in working_days(NOW, HORIZON_DAYS):
            for start in rng.sample(STARTS, rng.randint(lo, hi)):
                length = rng.choice([30, 45, 60, 90])
                begin, end = _at(day, start), _at(day, start + length)
                if rng.random() < 0.5:
                    calendly.add_booking(user_uri(key), begin, end, before_min=5, after_min=10)
                else:
                    calendly.add_external(user_uri(key), begin, end)
                given["calendly"] += 1
            for start in rng.sample(STARTS, rng.randint(lo, hi)):
                length = rng.choice([30, 45, 60, 90])
                show = rng.choice(SHOW_AS)
                with graph.locked():
                    box.add("Meeting", _at(day, start), _at(day, start + length), show_as=show)
                given["microsoft"] += show != "free"
    return given


def settings_for(
    database_url: str, workdir: Path, calendly: FakeCalendly, graph: FakeGraph
) -> Settings:
    return Settings(
        database_url=database_url,
        config_path=workdir / "clinic.yaml",
        data_dir=workdir,
        keys_file=workdir / "keys.json",
        availability_cache=False,  # every question computed, as a cache miss is
        rate_limits_enabled=False,
        calendly_token=SecretStr(TOKEN),
        calendly_base_url=calendly.url,
        microsoft_tenant_id=TENANT,
        microsoft_client_id=CLIENT_ID,
        microsoft_client_secret=SecretStr(CLIENT_SECRET),
        microsoft_login_url=graph.login_url,
        microsoft_graph_url=graph.graph_url,
    )


def feeds_for(
    settings: Settings, catalog: Catalog, http: httpx.AsyncClient, clock: FixedClock
) -> tuple[list[BusyFeed], RateGate]:
    """Calendly's feed as bootstrap/calendly.py builds it from the settings (it is not yet
    one of the store's sources there), and Microsoft 365's from bootstrap/microsoft.py."""
    token = settings.calendly_token
    assert token is not None
    gate = RateGate(
        per_minute=settings.calendly_requests_per_minute,
        burst=min(50, settings.calendly_requests_per_minute),
        in_flight=settings.calendly_max_in_flight,
    )
    client = CalendlyClient(
        http,
        token.get_secret_value(),
        breaker=calendly_breaker(
            threshold=settings.calendly_breaker_threshold,
            reset_after=settings.calendly_breaker_reset_seconds,
        ),
        gate=gate,
        base_url=settings.calendly_base_url,
    )
    users = {p.key: p.calendly.user for p in catalog.practitioners.values() if p.calendly}
    calendly = CalendlyFeed(
        client, users, clock, live_timeout=settings.calendly_live_timeout_seconds
    )
    microsoft = microsoft_calendar(settings, catalog, http, clock)
    assert microsoft is not None
    return [calendly, microsoft], gate


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


async def measure(
    database_url: str, workdir: Path, sizes: Sizes, *, out: list[str] | None = None
) -> Figures:
    """The whole run; `out` collects the printed lines (None: printed)."""

    def say(line: str) -> None:
        if out is None:
            print(line, flush=True)
        else:
            out.append(line)

    keys = practitioner_keys(sizes.practitioners)
    (workdir / "clinic.yaml").write_text(clinic_yaml(keys), encoding="utf-8")
    catalog = load_catalog(workdir / "clinic.yaml")
    clock = FixedClock(NOW)
    calendly, graph = FakeCalendly(), FakeGraph()
    graph.now = NOW  # its tokens' clock
    calendly.start()
    graph.start()
    try:
        given = fill(calendly, graph, keys, sizes)
        calendly.latency = graph.latency = sizes.latency
        settings = settings_for(database_url, workdir, calendly, graph)
        figures = await _refresh(settings, catalog, clock, calendly, graph, given)
        _report_refresh(figures, sizes, say)
        figures.bookings, figures.timings = await _availability(
            settings, catalog, clock, keys, sizes
        )
        _report_availability(figures, say)
    finally:
        calendly.stop()
        graph.stop()
    return figures


async def _refresh(
    settings: Settings,
    catalog: Catalog,
    clock: FixedClock,
    calendly: FakeCalendly,
    graph: FakeGraph,
    given: Counter[str],
) -> Figures:
    http = httpx.AsyncClient(trust_env=False, timeout=30)
    feeds, gate = feeds_for(settings, catalog, http, clock)
    built = build(settings, clock=clock, catalog=catalog, http=http, feeds=feeds)
    try:
        service = built.calendars.service
        before = await service.status()
        if any(s.synced or s.intervals for p in before for s in p.sources):
            raise SystemExit("the database already holds external busy time: give an empty one")
        calendly_done = 0.0
        began = time.perf_counter()

        def progress(outcome: SyncOutcome) -> None:
            nonlocal calendly_done
            if outcome.source == "calendly":
                calendly_done = time.perf_counter() - began

        outcomes = await service.sync_all(full=True, progress=progress)
        took = time.perf_counter() - began
        status = await service.status()
    finally:
        await built.aclose()
    stored: Counter[str] = Counter()
    for practitioner in status:
        for source in practitioner.sources:
            stored[source.source] += source.intervals
    return Figures(
        practitioners=len(catalog.practitioners),
        refresh_s=took,
        calendly_s=calendly_done,
        outcomes=Counter((o.source, o.kind) for o in outcomes),
        calendly_calls=len(calendly.busy_calls),
        calendly_most_in_flight=calendly.most_in_flight,
        calendly_in_flight_cap=gate.in_flight,
        calendly_429s=calendly.rate_limited,
        calendly_per_minute=gate.per_minute,
        calendly_burst=gate.burst,
        calendly_most_in_a_minute=most_in_a_window(calendly.arrivals, 60.0),
        calendly_beyond_refill=beyond_refill(calendly.arrivals, gate.per_minute),
        get_schedule_calls=graph.calls("POST", "/calendar/getSchedule"),
        delta_calls=graph.calls("GET", "/calendarView/delta"),
        graph_throttled=graph.throttled,
        given=given,
        stored=stored,
    )


async def _availability(
    settings: Settings, catalog: Catalog, clock: FixedClock, keys: Sequence[str], sizes: Sizes
) -> list[Timing]:
    """Every practitioner's open slots over each range, asked of the container with both
    sources (their stored busy time read) and of one with none wired, alternately."""
    http_with = httpx.AsyncClient(trust_env=False, timeout=30)
    feeds, _ = feeds_for(settings, catalog, http_with, clock)
    with_sources = build(settings, clock=clock, catalog=catalog, http=http_with, feeds=feeds)
    without = build(
        settings,
        clock=clock,
        catalog=catalog,
        http=httpx.AsyncClient(trust_env=False, timeout=30),
        feeds=[],
    )
    start = NOW + timedelta(days=1)
    timings = []
    try:
        booked = await _book(without, keys, sizes)
        for days in sizes.ranges:
            end = start + timedelta(days=days)
            await _ask(with_sources, start, end)  # warm: statements compiled, pools opened
            await _ask(without, start, end)
            timing = Timing(days, [], [], 0, 0)
            for _ in range(max(1, sizes.repeat)):  # alternately, so noise falls on both
                took, timing.slots_with = await _ask(with_sources, start, end)
                timing.with_sources.append(took)
                took, timing.slots_without = await _ask(without, start, end)
                timing.without.append(took)
            timings.append(timing)
    finally:
        await with_sources.aclose()
        await without.aclose()
    return booked, timings


# Half-hour starts inside the working hours: a practitioner's visits never overlap.
VISIT_STARTS = [*range(8 * 60, 12 * 60, 30), *range(13 * 60, 17 * 60, 30)]


async def _book(c: Container, keys: Sequence[str], sizes: Sizes) -> int:
    """`bookings_per_day` visits a working day for each practitioner, booked through the
    booking service (each practitioner's with a patient of their own); how many."""
    rng = random.Random(sizes.seed + 1)
    made = 0
    for n, key in enumerate(keys, 1):
        patient = PatientDetails("Bench", f"Patient{n}", f"bench.patient{n}@example.com", None)
        for day in working_days(NOW, HORIZON_DAYS):
            for minute in sorted(rng.sample(VISIT_STARTS, sizes.bookings_per_day)):
                slot = SlotRequest(SERVICE, VISIT, MINUTES, _at(day, minute), key)
                await c.bookings.book(SYSTEM, BookRequest(slot, patient), None)
                made += 1
    return made


async def _ask(c: Container, start: datetime, end: datetime) -> tuple[float, int]:
    """One availability question, as the route asks it: seconds taken, start times found."""
    began = time.perf_counter()
    found = await c.availability.slots(SERVICE, VISIT, MINUTES, start, end, None)
    return time.perf_counter() - began, len(found)


def _report_refresh(f: Figures, sizes: Sizes, say: Callable[[str], None]) -> None:
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


def _report_availability(f: Figures, say: Callable[[str], None]) -> None:
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


async def main(args: argparse.Namespace) -> None:
    sizes = Sizes(
        practitioners=args.practitioners,
        latency=args.latency,
        repeat=args.repeat,
        ranges=tuple(int(d) for d in args.days.split(",")),
        bookings_per_day=args.bookings_per_day,
    )
    with tempfile.TemporaryDirectory(prefix="calbench-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/calbench.sqlite3"
        await upgrade(url)
        await measure(url, Path(tmp), sizes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--practitioners", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per fake call")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--days", default="7,60", help="availability ranges, in days")
    parser.add_argument(
        "--bookings-per-day",
        type=int,
        default=0,
        help="the clinic's own visits a working day per practitioner, in both runs",
    )
    parser.add_argument(
        "--database-url", help="an empty database to use (migrated first); default: SQLite"
    )
    asyncio.run(main(parser.parse_args()))
