"""A `clinicflow worker` killed (SIGKILL) while MediRecords holds its appointment write: the
write reached MediRecords but the worker never learned it. The next worker sends it again
(the event was never settled), and MediRecords still has one appointment and one patient,
because every write is conditional on clinicflow's identifiers."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clinicflow.infra.crypto import create
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import Event
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.patients import PatientDetails, PatientDirectory
from support import forked_cli
from support.ehr_servers import BOOKING_SYSTEM, PATIENT_SYSTEM, ehr_env
from support.event_bus import redis_stream
from support.fake_medirecords import FakeMediRecords
from support.migrated import migrated
from support.processes import start_worker, wait_until, worker_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stream() -> Iterator[str]:
    with redis_stream("ehr-crash", "EHR worker crash test") as name:
        yield name


async def _seed(url: str, data_dir: Path, booking_id: str) -> str:
    """A patient, and the booking.created event of their visit in the outbox."""
    await migrated(url)
    keys = create(data_dir / "keys.json")
    now = datetime.now(UTC)
    start = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)  # far ahead: no reminder falls due
    db = Database(url)
    async with UnitOfWork(db) as uow:
        directory = PatientDirectory(keys).on(uow.connection)
        details = PatientDetails("Robin", "Crashford", "robin@example.org", None)
        patient_id, _ = await directory.match_or_create(details, now)
        payload = {
            "booking_id": booking_id,
            "status": "confirmed",
            "service": "alternative_medicine",
            "visit_type": "initial",
            "practitioner": "doctor1",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=20)).isoformat(),
            "patient_id": patient_id,
        }
        uow.publish(Event("booking.created", "booking", booking_id, now, payload))
        await uow.commit()
    await db.dispose()
    return patient_id


@pytest.mark.xdist_group("serial")  # one fork server a run (support/scheduling.py)
@pytest.mark.slow
def test_a_worker_killed_mid_send_leaves_one_visit_in_medirecords(
    tmp_path: Path, stream: str, medirecords: FakeMediRecords
) -> None:
    database = tmp_path / "clinic.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    booking_id = str(uuid.uuid4())
    patient_id = asyncio.run(_seed(url, tmp_path, booking_id))
    env = worker_env(url, tmp_path, stream) | ehr_env(medirecords)

    def start(name: str) -> forked_cli.Command:
        return start_worker(tmp_path, name, env)

    def settled() -> bool:
        with sqlite3.connect(database, timeout=15) as conn:
            query = "SELECT status FROM infra_delivery WHERE subscriber = 'ehr_sync'"
            return conn.execute(query).fetchall() == [("done",)]

    medirecords.hold = True
    first = start("first")
    try:
        wait_until(medirecords.held.is_set, "the first worker's appointment write", first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
    assert len(medirecords.appointments_for(BOOKING_SYSTEM, booking_id)) == 1  # it got there
    medirecords.release()

    second = start("second")
    try:
        wait_until(settled, "the second worker settled the event", second)
    finally:
        second.send_signal(signal.SIGTERM)
        exit_code = second.wait(timeout=30)
    assert exit_code == 0, (tmp_path / "second.log").read_text()

    puts = [t for m, t in medirecords.log if m == "PUT" and t.startswith("/v1/Appointment")]
    assert len(puts) == 2  # sent again by the second worker …
    [visit] = medirecords.appointments_for(BOOKING_SYSTEM, booking_id)  # … and still one
    assert visit["status"] == "booked"
    assert medirecords.appointment_creates == 1
    assert medirecords.patient_creates == 1
    [patient] = medirecords.patients.values()
    assert {"system": PATIENT_SYSTEM, "value": patient_id} in patient["identifier"]
    assert visit["participant"][0]["actor"] == {"reference": f"Patient/{patient['id']}"}
