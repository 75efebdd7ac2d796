"""What the lake tests share: PHI canaries made through the real use cases, every event
delivered (again) to the analytics recorder, and the lake read back byte by byte and value
by value."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
from sqlalchemy import select

from clinicflow.analytics.repository import SqlAnalyticsUnitOfWork
from clinicflow.analytics.subscribers import EventRecorder
from clinicflow.analytics.tables import events
from clinicflow.bootstrap import Container
from clinicflow.infra.bus import Envelope
from clinicflow.infra.outbox import Event
from clinicflow.infra.unit_of_work import Factory
from support.api import ALT

# Unique strings in each kind of PHI: none may appear anywhere in the lake or its catalog.
CANARIES = {
    "first_name": "Qwyzzlebert",
    "last_name": "Vantrocklemann",
    "email": "canary.zq7x@example.org",
    "phone": "+15125550199",
    "notes": "canary-note-Zephyrquail",
    "address": "77 Canarywhistle Lane",
    "reason": "canary-reason-Brambleflux",
}
BIRTH_DATE = "1981-06-15"  # 45 on the suite's day: "45-54"


def canary_patient() -> dict[str, Any]:
    return {
        "first_name": CANARIES["first_name"],
        "last_name": CANARIES["last_name"],
        "email": CANARIES["email"],
        "phone": CANARIES["phone"],
        "birth_date": BIRTH_DATE,
        "address": {"line1": CANARIES["address"], "city": "Chicago", "state": "IL", "zip": "60614"},
        "notes": CANARIES["notes"],
        "referral": {"source": "campaign", "campaign": "spring-fair"},
    }


async def make_history(
    container: Container, client: httpx.AsyncClient, staff: dict[str, str]
) -> str:
    """A patient with every kind of PHI, two visits booked for them (one cancelled with a
    reason) and one for someone else, their events delivered to the platform's subscribers
    (the analytics recorder among them); the canary patient's id."""
    made = await client.post("/v1/patients", json=canary_patient(), headers=staff)
    assert made.status_code == 201, made.text
    who = {k: CANARIES[k] for k in ("first_name", "last_name", "email", "phone")}
    ids = []
    for start, patient in (
        ("2026-11-25T10:00:00-06:00", who),
        ("2026-11-25T11:00:00-06:00", who),
        ("2026-11-25T10:30:00-06:00", {**who, "email": "other.person@example.com"}),
    ):
        body = {**ALT, "start": start, "practitioner": "doctor1", "patient": patient}
        booked = await client.post("/v1/bookings", json=body, headers=staff)
        assert booked.status_code == 201, booked.text
        ids.append(booked.json()["id"])
    cancel = {"reason": CANARIES["reason"]}
    done = await client.post(f"/v1/bookings/{ids[1]}/cancel", json=cancel, headers=staff)
    assert done.status_code == 200, done.text
    await container.bus.run_once()
    patient_id: str = made.json()["id"]
    return patient_id


def _recorder(container: Container) -> EventRecorder:
    uow = Factory(container.db, SqlAnalyticsUnitOfWork)
    return EventRecorder(uow=uow, clock=container.clock)


async def record(container: Container, event: Event) -> None:
    """`event` delivered to the analytics recorder, as the bus would after its commit."""
    await _recorder(container).handle(
        Envelope(
            event.event_id,
            event.type,
            event.version,
            event.occurred_at,
            event.aggregate_type,
            event.aggregate_id,
            event.payload,
        )
    )


async def redeliver_all(container: Container) -> int:
    """Every recorded event handed to the recorder again, as a replayed stream would."""
    recorder = _recorder(container)
    async with container.db.read() as conn:
        rows = (await conn.execute(select(events).order_by(events.c.recorded_at))).all()
    for row in rows:
        await recorder.handle(
            Envelope(
                row.event_id,
                row.type,
                row.version,
                row.occurred_at,
                row.aggregate_type,
                row.aggregate_id,
                dict(row.payload),
            )
        )
    return len(rows)


def checksum(table: Any) -> tuple[int, str]:
    """Row count and a digest over the rows sorted by place (every column)."""
    rows = sorted(table.to_pylist(), key=lambda r: r["seq"])
    body = json.dumps(rows, default=_plain, sort_keys=True).encode()
    return len(rows), hashlib.sha256(body).hexdigest()


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(type(value))


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def phi_in_bytes(files: list[Path], needles: list[str]) -> list[tuple[str, str]]:
    found = []
    for path in files:
        data = path.read_bytes()
        found += [
            (str(path), n) for n in needles if n.encode() in data or n.lower().encode() in data
        ]
    return found


def values_in_parquet(files: list[Path]) -> list[str]:
    """Every value of every column of every Parquet file on disk (referenced or not), as text."""
    values: list[str] = []
    for path in files:
        if path.suffix == ".parquet":
            for column in pq.read_table(path).columns:
                values += [json.dumps(v, default=str) for v in column.to_pylist()]
    return values
