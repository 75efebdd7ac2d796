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

Its parts beside it: calendars_clinic.py (the clinic, the fakes' busy items, settings and
feeds), calendars_report.py (the figures and the printed report).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Runnable from a plain checkout (the package from src/), with the fake vendors of the tests.
sys.path.insert(1, str(ROOT / "src"))
sys.path.insert(1, str(ROOT / "tests"))

from calendars_clinic import (  # noqa: E402
    HORIZON_DAYS,
    MINUTES,
    NOW,
    SERVICE,
    VISIT,
    Sizes,
    clinic_yaml,
    feeds_for,
    fill,
    local_at,
    practitioner_keys,
    settings_for,
    working_days,
)
from calendars_report import (  # noqa: E402
    Figures,
    Timing,
    beyond_refill,
    most_in_a_window,
    report_availability,
    report_refresh,
)
from clinicflow.booking.commands import BookRequest, SlotRequest  # noqa: E402
from clinicflow.bootstrap import Container, build  # noqa: E402
from clinicflow.calendars.views import SyncOutcome  # noqa: E402
from clinicflow.catalog import Catalog  # noqa: E402
from clinicflow.catalog.service import load_catalog  # noqa: E402
from clinicflow.infra.migrate import upgrade  # noqa: E402
from clinicflow.patients import PatientDetails  # noqa: E402
from clinicflow.settings import Settings  # noqa: E402
from clinicflow.shared.actor import SYSTEM  # noqa: E402
from clinicflow.shared.clock import FixedClock  # noqa: E402
from support.fake_calendly import FakeCalendly  # noqa: E402
from support.fake_graph import FakeGraph  # noqa: E402


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
        report_refresh(figures, sizes, say)
        figures.bookings, figures.timings = await _availability(
            settings, catalog, clock, keys, sizes
        )
        report_availability(figures, say)
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
                slot = SlotRequest(SERVICE, VISIT, MINUTES, local_at(day, minute), key)
                await c.bookings.book(SYSTEM, BookRequest(slot, patient), None)
                made += 1
    return made


async def _ask(c: Container, start: datetime, end: datetime) -> tuple[float, int]:
    """One availability question, as the route asks it: seconds taken, start times found."""
    began = time.perf_counter()
    found = await c.availability.slots(SERVICE, VISIT, MINUTES, start, end, None)
    return time.perf_counter() - began, len(found)


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
