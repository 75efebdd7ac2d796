"""A simulated clinic for the simulation tests: days of history made into a fresh SQLite
file under tmp_path, with the demand turned down so a month runs in seconds; what it made
as a whole (the tally, the bookings) and day by day (`Simulated.days`, `Simulated.events`:
the recorded events, the ML lake's source, without their random ids)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select

from clinicflow.analytics.tables import events
from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import build
from clinicflow.catalog import Catalog
from clinicflow.demo import DemoClock
from clinicflow.simulation import ClinicYear, Demand, Tally, YearPlan, simulated_clinic
from support.app import CLINIC_YAML, clinic_settings
from support.migrated import migrated

# The clock the simulated days end at: a Saturday evening in the clinic (UTC here).
ENDS_AT = datetime(2026, 11, 7, 23, 0, tzinfo=UTC)
LIGHT = Demand(scale=0.25, established_per_practitioner=8)
# Payload fields holding random ids (UUIDs made by the use cases) or keys derived from them.
IDS = frozenset(
    {"booking_id", "booking_ids", "entry_id", "hold_id", "invitation_id", "offer_id"}
    | {"order_id", "patient_id", "refund_id"}
)
# A day's figure: (local day, event type, service, practitioner) -> how many, and money.
Day = tuple[str, str, str | None, str | None]


@dataclass(frozen=True)
class Booking:
    practitioner: str
    status: str
    start: datetime
    end: datetime
    block_start: datetime
    block_end: datetime


@dataclass(frozen=True)
class Simulated:
    tally: Tally
    catalog: Catalog
    bookings: list[Booking]
    # Per local day, event type, service and practitioner (a payment's: its bookings'):
    # how many events, and the cents they moved (a payment's total, a refund's amount).
    days: Counter[tuple[Day, str]]
    events: Counter[str]  # each recorded event's time, type and payload without its ids


async def simulate(
    tmp_path: Path, *, days: int, practitioners: int, seed: int, demand: Demand = LIGHT
) -> Simulated:
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    made = simulated_clinic(CLINIC_YAML, practitioners, tmp_path / "simulated-clinic.yaml")
    settings = clinic_settings(
        url, tmp_path, config_path=made.path, password_hashing="insecure-fast"
    )
    await migrated(url)
    clock = DemoClock()
    clock.set(ENDS_AT)
    container = build(settings, clock=clock)
    try:
        tally = await ClinicYear(container, clock, YearPlan(days, seed, made, demand)).run()
        async with container.db.read() as conn:
            rows = (await conn.execute(select(appointments))).all()
            recorded = (await conn.execute(select(events))).all()
        return Simulated(
            tally,
            container.catalog,
            [
                Booking(r.practitioner, r.status, r.start_at, r.end_at, r.block_start, r.block_end)
                for r in rows
            ],
            _days(recorded, container.catalog.clinic.tz),
            Counter(_without_ids(r) for r in recorded),
        )
    finally:
        await container.aclose()


def _days(recorded: list[Any], tz: tzinfo) -> Counter[tuple[Day, str]]:
    where: dict[str, tuple[str | None, str | None]] = {}  # booking id -> its service, practitioner
    for row in recorded:
        payload: Mapping[str, Any] = row.payload
        if row.type.startswith("booking."):
            where.setdefault(payload["booking_id"], (payload["service"], payload["practitioner"]))
    days: Counter[tuple[Day, str]] = Counter()
    for row in recorded:
        payload = row.payload
        day = row.occurred_at.astimezone(tz).date().isoformat()
        if row.type.startswith("payment."):
            cents = payload.get("amount_cents", payload.get("total_cents", 0))
            for booking_id in payload.get("booking_ids") or ():
                service, practitioner = where.get(booking_id, (None, None))
                days[((day, row.type, service, practitioner), "events")] += 1
                days[((day, row.type, service, practitioner), "cents")] += cents
        else:
            key = (day, row.type, payload.get("service"), payload.get("practitioner"))
            days[(key, "events")] += 1
    return days


def _without_ids(row: Any) -> str:
    kept = {k: v for k, v in row.payload.items() if k not in IDS}
    return json.dumps([row.type, row.occurred_at.isoformat(), kept], sort_keys=True, default=str)
