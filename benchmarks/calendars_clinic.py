"""The calendars benchmark's clinic (benchmarks/calendars.py, which puts src/ and tests/ on
the path before importing this): the sizes of a run, the practitioners (each a Calendly user
and a Microsoft 365 mailbox), the clinic file, 2-4 busy items a working day put in each fake,
the app's settings and the two feeds pointed at the fakes."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from clinicflow.adapters.calendars._calendly_http import CalendlyClient, RateGate, calendly_breaker
from clinicflow.adapters.calendars.calendly import CalendlyFeed
from clinicflow.bootstrap.microsoft import microsoft_calendar
from clinicflow.calendars.ports import BusyFeed
from clinicflow.catalog import Catalog
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.fake_calendly import TOKEN, FakeCalendly
from support.fake_calendly_wire import user_uri
from support.fake_graph import CLIENT_ID, CLIENT_SECRET, TENANT, FakeGraph

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


def local_at(day: datetime, minute: int) -> datetime:
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
                begin, end = local_at(day, start), local_at(day, start + length)
                if rng.random() < 0.5:
                    calendly.add_booking(user_uri(key), begin, end, before_min=5, after_min=10)
                else:
                    calendly.add_external(user_uri(key), begin, end)
                given["calendly"] += 1
            for start in rng.sample(STARTS, rng.randint(lo, hi)):
                length = rng.choice([30, 45, 60, 90])
                show = rng.choice(SHOW_AS)
                with graph.locked():
                    box.add(
                        "Meeting", local_at(day, start), local_at(day, start + length), show_as=show
                    )
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
