"""A week across the end of DST (Sunday 1 November 2026, 02:00 CDT → 01:00 CST in the
clinic's America/Chicago) with doctor1's time in all four kinds of external calendar at
once, each read by its real adapter from its own server on loopback:

- Calendly (fake): bookings and connected-calendar items, in UTC;
- Microsoft 365 (fake Graph): events as wall-clock dateTime / timeZone pairs in
  America/Chicago, as Graph writes them when asked with `Prefer: outlook.timezone`;
- CalDAV (a real Radicale): single events, and an on-call night across the change;
- ICS (a published feed): a weekly series begun in September, TZID=America/Chicago, with an
  EXDATE; and doctor2's all-day event on the change day.

One full sync through CalendarsService, then the availability route. Everything is checked
in the clinic's wall-clock time: 09:00–10:00 every day blocks 09:00–10:00 on both sides of
the change; Graph's zoned times and Calendly's UTC times land on their local slots; the
on-call night ends at 07:30 CST and the all-day event is the whole 25-hour local day; the
change day's slots follow its local hours; each source holds each of its events once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from clinicflow.adapters.calendars._calendly_http import (
    CalendlyClient,
    RateGate,
    calendly_breaker,
)
from clinicflow.adapters.calendars.caldav_feed import CalDavCalendar, CalDavFeed
from clinicflow.adapters.calendars.calendly import CalendlyFeed
from clinicflow.adapters.calendars.ics_feed import IcsFeed
from clinicflow.bootstrap import Container
from clinicflow.calendars.ports import BusyFeed
from clinicflow.calendars.tables import busy_intervals
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import app_over
from support.calendars_ics import vcalendar, vevent
from support.clinic_config import shipped, written
from support.fake_calendly import TOKEN, FakeCalendly
from support.fake_calendly_wire import user_uri
from support.fake_graph import FakeGraph
from support.fake_ics_host import FakeIcsHost
from support.fake_vendor import serving
from support.graph_servers import MAILBOXES, Sleeps, calendar_on
from support.radicale_server import PASSWORD, Radicale

pytestmark = pytest.mark.slow  # a Radicale server in its own process

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 10, 27, 13, 0, tzinfo=UTC)  # Tuesday 27 October, 08:00 CDT
WEEK = [date(2026, 10, 28) + timedelta(days=n) for n in range(7)]  # Wed 28 Oct – Tue 3 Nov
WED, THU, FRI, SAT, SUN, MON, TUE = WEEK
CHANGE_DAY = SUN
WEEKDAY = "08:30-12:00 13:00-17:00"  # doctor1's hours Monday to Thursday


def local(day: date, hhmm: str) -> datetime:
    """A wall-clock time in the clinic (none used here is ambiguous or skipped)."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=CHICAGO)


def wall(at: datetime) -> str:
    """An instant as the clinic's wall clock reads it ("11-01 07:30"; sorts in time order
    within the year, apart from the repeated hour of the change night, which none uses)."""
    return f"{at.astimezone(CHICAGO):%m-%d %H:%M}"


def stretch(day: date, start: str, end: str, end_day: date | None = None) -> str:
    return f"{wall(local(day, start))} → {wall(local(end_day or day, end))}"


# -- the calendars ---------------------------------------------------------------------------

# Doctor1's rounds, 09:00–10:00 Chicago time every day since Monday 7 September (CDT) until
# the 3rd of November (CST: UNTIL is 09:00 CST in UTC), but not Friday 30 October.
ROUNDS = vevent(
    "rounds-1",
    "SUMMARY:Rounds",
    "DTSTART;TZID=America/Chicago:20260907T090000",
    "DTEND;TZID=America/Chicago:20260907T100000",
    "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;UNTIL=20261103T150000Z",
    "EXDATE;TZID=America/Chicago:20261030T090000",
)
# Doctor2 volunteers all of Sunday 1 November: Chicago's midnight to midnight, 25 hours.
FAIR = vevent(
    "fair-1",
    "SUMMARY:Marathon first-aid tent",
    "DTSTART;VALUE=DATE:20261101",
    "DTEND;VALUE=DATE:20261102",
)
# On call from Saturday 22:00 CDT to Sunday 07:30 CST: 10.5 hours.
ON_CALL = vevent(
    "oncall-1",
    "SUMMARY:On call",
    "DTSTART;TZID=America/Chicago:20261031T220000",
    "DTEND;TZID=America/Chicago:20261101T073000",
)


def caldav_day(day: date) -> str:
    return vevent(
        f"huddle-{day:%Y%m%d}",
        "SUMMARY:Huddle",
        f"DTSTART;TZID=America/Chicago:{day:%Y%m%d}T090000",
        f"DTEND;TZID=America/Chicago:{day:%Y%m%d}T100000",
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The clinic's file, with both doctors working the change day (a Sunday)."""
    config = shipped()
    for key, hours in (("doctor1", ["07:00-12:00"]), ("doctor2", ["10:00-14:00"])):
        config["practitioners"][key]["exceptions"].append(
            {"date": CHANGE_DAY, "hours": hours, "reason": "Marathon weekend clinic"}
        )
    return settings.model_copy(update={"config_path": written(config, tmp_path)})


@pytest.fixture
def calendly() -> Iterator[FakeCalendly]:
    fake = FakeCalendly()
    for day in WEEK:  # visits booked on doctor1's Calendly page
        fake.add_booking(user_uri("doctor1"), local(day, "09:00"), local(day, "10:00"))
    # Connected-calendar items, as Calendly gives them: UTC (11:00 local either side).
    for start in (datetime(2026, 10, 29, 16, tzinfo=UTC), datetime(2026, 11, 2, 17, tzinfo=UTC)):
        fake.add_external(user_uri("doctor1"), start, start + timedelta(minutes=30))
    yield from serving(fake)


@pytest.fixture
def outlook(graph_server: FakeGraph) -> FakeGraph:
    graph_server.zone = "America/Chicago"
    box = graph_server.mailbox(MAILBOXES["doctor1"])
    with graph_server.locked():
        for day in WEEK:
            box.add("Clinic huddle", local(day, "09:00"), local(day, "10:00"))
        for day in (THU, MON):
            box.add("Board call", local(day, "14:00"), local(day, "15:00"))
    return graph_server


@pytest.fixture
def caldav_url(radicale: Radicale) -> str:
    name = f"dst-{uuid.uuid4().hex[:8]}"
    url = radicale.make_calendar("doctor1", name)
    for day in WEEK:
        radicale.put("doctor1", name, f"huddle-{day:%m%d}", vcalendar(caldav_day(day)))
    radicale.put("doctor1", name, "oncall", vcalendar(ON_CALL))
    return url


@pytest.fixture
def ics_host() -> Iterator[FakeIcsHost]:
    yield from serving(FakeIcsHost())


@pytest.fixture
def calendar_feeds(
    calendly: FakeCalendly,
    outlook: FakeGraph,
    caldav_url: str,
    ics_host: FakeIcsHost,
    http: httpx.AsyncClient,
    clock: FixedClock,
    sleeps: Sleeps,
) -> list[BusyFeed]:
    client = CalendlyClient(
        http, TOKEN, breaker=calendly_breaker(), gate=RateGate(), base_url=calendly.url
    )
    microsoft = calendar_on(
        outlook, http, clock, sleeps, mailboxes={"doctor1": MAILBOXES["doctor1"]}
    )
    caldav = CalDavCalendar(url=caldav_url, username="doctor1", password=PASSWORD)
    published = {
        "doctor1": [ics_host.publish("/doctor1/rounds.ics", vcalendar(ROUNDS))],
        "doctor2": [ics_host.publish("/doctor2/volunteering.ics", vcalendar(FAIR))],
    }
    return [
        CalendlyFeed(client, {"doctor1": user_uri("doctor1")}, clock),
        microsoft,
        CalDavFeed(http, {"doctor1": caldav}, zone=CHICAGO),
        IcsFeed(http, published, zone=CHICAGO),
    ]


# -- what the clinic sees ----------------------------------------------------------------------


async def stored(container: Container) -> dict[tuple[str, str], list[str]]:
    """Each source's intervals for each practitioner, as local wall-clock stretches."""
    query = select(
        busy_intervals.c.source,
        busy_intervals.c.practitioner,
        busy_intervals.c.starts_at,
        busy_intervals.c.ends_at,
    )
    async with container.db.read() as conn:
        rows = (await conn.execute(query)).all()
    out: dict[tuple[str, str], list[str]] = {}
    for source, practitioner, start, end in rows:
        held = out.setdefault((source, practitioner), [])
        held.append(f"{wall(aware(start))} → {wall(aware(end))}")
    return {key: sorted(held) for key, held in out.items()}


def aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite reads naive UTC


async def offered(client: httpx.AsyncClient, practitioner: str) -> dict[date, list[str]]:
    """The practitioner's 20-minute alternative medicine starts in the week, by local day."""
    resp = await client.get(
        "/v1/availability",
        params={
            "service": "alternative_medicine",
            "visit_type": "initial",
            "duration": 20,
            "practitioner": practitioner,
            "start": WEEK[0].isoformat(),
            "end": WEEK[-1].isoformat(),
        },
    )
    assert resp.status_code == 200, resp.text
    out: dict[date, list[str]] = {day: [] for day in WEEK}
    for slot in resp.json()["slots"]:
        start = datetime.fromisoformat(slot["start"]).astimezone(CHICAGO)
        out[start.date()].append(f"{start:%H:%M}")
    return out


def starts(hours: str, *busy: str) -> list[str]:
    """What the clinic's rules give in local wall-clock time: a 20-minute visit and its 5
    minutes after, every 15 minutes from the start of each stretch of `hours` ("08:30-12:00
    13:00-17:00"), clear of every `busy` stretch ("09:00-10:00")."""

    def minutes(stretch: str) -> tuple[int, int]:
        a, b = (time.fromisoformat(t) for t in stretch.split("-"))
        return a.hour * 60 + a.minute, b.hour * 60 + b.minute

    blocks = [minutes(b) for b in busy]
    out = []
    for a, b in (minutes(h) for h in hours.split()):
        for s in range(a, b - 20 + 1, 15):
            if not any(x < s + 25 and s < y for x, y in blocks):
                out.append(f"{s // 60:02d}:{s % 60:02d}")
    return out


def daily(start: str, end: str, days: list[date] = WEEK) -> list[str]:
    return [stretch(day, start, end) for day in days]


async def test_a_full_sync_holds_each_event_once_at_its_local_time(container: Container) -> None:
    service = container.calendars.service

    outcomes = await service.sync_all(full=True)

    assert sorted((o.source, o.practitioner, o.kind) for o in outcomes) == [
        ("caldav", "doctor1", "full"),
        ("calendly", "doctor1", "full"),
        ("ics", "doctor1", "full"),
        ("ics", "doctor2", "full"),
        ("microsoft", "doctor1", "full"),
    ]
    held = await stored(container)
    # Calendly's UTC times: 16:00Z is 11:00 CDT, 17:00Z is 11:00 CST.
    assert held[("calendly", "doctor1")] == sorted(
        [*daily("09:00", "10:00"), stretch(THU, "11:00", "11:30"), stretch(MON, "11:00", "11:30")]
    )
    # Graph's zoned pairs; each event once (not again under getSchedule's time-based id).
    assert held[("microsoft", "doctor1")] == sorted(
        [*daily("09:00", "10:00"), stretch(THU, "14:00", "15:00"), stretch(MON, "14:00", "15:00")]
    )
    # The on-call night: 22:00 CDT to 07:30 CST, 10.5 hours.
    assert held[("caldav", "doctor1")] == sorted(
        [*daily("09:00", "10:00"), stretch(SAT, "22:00", "07:30", end_day=CHANGE_DAY)]
    )
    # The weekly series from September, from today (Tuesday) to its UNTIL, without the
    # EXDATE (Friday): 09:00 local before and after the change.
    rounds = [NOW.date(), *WEEK]
    assert held[("ics", "doctor1")] == daily("09:00", "10:00", [d for d in rounds if d != FRI])
    # All day Sunday: Chicago's midnight to midnight, 25 hours.
    assert held[("ics", "doctor2")] == [stretch(CHANGE_DAY, "00:00", "00:00", end_day=MON)]
    assert len(held) == 5

    # Read again (Graph and CalDAV by their cursors, Calendly and ICS whole): nothing moves.
    again = await service.sync_all(force=True)
    assert {o.kind for o in again if o.source in ("microsoft", "caldav")} == {"delta"}
    assert not any(o.changed for o in again)
    assert await stored(container) == held


async def test_the_clinics_slots_keep_to_local_time_on_both_sides_of_the_change(
    container: Container,
) -> None:
    await container.calendars.service.sync_all(full=True)

    async with app_over(container) as client:
        doctor1 = await offered(client, "doctor1")
        doctor2 = await offered(client, "doctor2")

    rounds, board_call, calendly = "09:00-10:00", "14:00-15:00", "11:00-11:30"
    assert doctor1 == {
        WED: starts(WEEKDAY, rounds),
        THU: starts(WEEKDAY, rounds, calendly, board_call),
        FRI: starts("08:30-12:30", rounds),
        SAT: [],  # no hours
        # The change day's own hours (07:00–12:00 that Sunday): clear from the end of the
        # night on call, 07:30 CST, and of the rounds, 10:00 CST.
        CHANGE_DAY: [
            *("07:30", "07:45", "08:00", "08:15", "08:30"),
            *("10:00", "10:15", "10:30", "10:45", "11:00", "11:15", "11:30"),
        ],
        MON: starts(WEEKDAY, rounds, calendly, board_call),
        TUE: starts(WEEKDAY, rounds),
    }
    assert doctor1[MON][:2] == ["08:30", "10:00"]  # 09:00 CST is blocked, not 08:00 or 10:00
    # Doctor2 works 10:00–14:00 on the change day, all of it taken by the all-day event;
    # the Saturday before and the Tuesday after are untouched by it.
    assert doctor2[CHANGE_DAY] == []
    assert doctor2[SAT] == starts("09:00-13:00")
    assert doctor2[TUE] == starts("09:00-12:00 13:00-18:00")
