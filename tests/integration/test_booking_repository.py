"""Booking's unit of work over real databases (booking/repository.py, booking/queries.py),
and the in-memory one the use-case tests run on (tests/support/fake_booking.py) held to the
same answers: each scenario runs on the SQL one (SQLite and PostgreSQL) and on the fake.

Then what only the database does: its constraints refuse a racing row (`RaceLost`, said as
the block ends), the slot locks a savepoint rolls back are no longer counted as held, and
a unit of work's repositories are closed with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from clinicflow.booking.domain.appointment import Appointment, SlotTimes
from clinicflow.booking.domain.lifecycle import Status
from clinicflow.booking.errors import RaceLost
from clinicflow.booking.ports import BookingUnitOfWork
from clinicflow.booking.repository import SqlBookingUnitOfWork
from clinicflow.booking.tables import appointments
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import Factory, TransactionClosed, UnitsOfWork
from clinicflow.patients.tables import patients
from support.fake_booking import FakeBooking

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
TEN = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 10:00 in Chicago
PATIENT_ROWS = [
    {"id": p, "contact_prefs": {}, "created_at": NOW, "updated_at": NOW} for p in ("p-1", "p-2")
]
ALT = "alternative_medicine"


def visit(
    n: int,
    start: datetime = TEN,
    *,
    practitioner: str = "doctor1",
    patient: str | None = "p-1",
    status: Status = Status.CONFIRMED,
    minutes: int = 20,
    hold_until: datetime | None = None,
    at: datetime = NOW,
) -> Appointment:
    end = start + timedelta(minutes=minutes)
    return Appointment(
        f"b-{n}",
        ALT,
        "initial",
        minutes,
        practitioner,
        patient,
        status.value,
        start,
        end,
        start,
        end + timedelta(minutes=5),
        hold_until,
        None,
        at,
        at,
    )


@pytest.fixture(params=["sql", "fake"])
async def units(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Any]:
    if request.param == "fake":
        yield FakeBooking().units
        return
    db = Database(database_url)
    async with db.engine.begin() as conn:  # the patients the rows point at
        await conn.execute(insert(patients), PATIENT_ROWS)
    yield Factory(db, SqlBookingUnitOfWork)
    await db.dispose()


async def _add(units: UnitsOfWork[BookingUnitOfWork], *rows: Appointment) -> None:
    async with units() as uow:
        for row in rows:
            assert await uow.appointments.add(row) == row
        await uow.commit()


def test_an_appointment_has_the_tables_columns_in_order() -> None:
    assert list(Appointment.__dataclass_fields__) == [c.name for c in appointments.c]


async def test_what_is_added_reads_back_and_a_rollback_keeps_nothing(units: Any) -> None:
    await _add(units, visit(1))
    async with units() as uow:
        await uow.appointments.add(visit(2, TEN + timedelta(hours=2)))  # never committed

    async with units.reading() as uow:
        assert await uow.appointments.get("b-1") == visit(1)
        assert await uow.appointments.get("b-1", lock=True) == visit(1)
        assert await uow.appointments.get("b-2") is None


async def test_the_changes_of_a_visit(units: Any) -> None:
    hold = visit(1, patient=None, status=Status.HELD, hold_until=NOW + timedelta(minutes=10))
    await _add(units, hold, visit(2, TEN + timedelta(hours=2)))
    later = NOW + timedelta(minutes=1)
    fifteen = TEN + timedelta(minutes=15)
    moved_to = SlotTimes("doctor2", 15, TEN, fifteen, TEN, fifteen + timedelta(minutes=5))

    async with units() as uow:
        confirmed = await uow.appointments.confirm_hold("b-1", "p-2", later)
        moved = await uow.appointments.move("b-2", moved_to, later)
        attended = await uow.appointments.set_status("b-1", Status.CHECKED_IN, later)
        cancelled = await uow.appointments.cancel("b-2", "feeling better", later)
        await uow.commit()

    assert confirmed == replace(
        hold, status="confirmed", patient_id="p-2", hold_expires_at=None, updated_at=later
    )
    assert (moved.practitioner, moved.duration_min, moved.start_at) == ("doctor2", 15, TEN)
    assert (attended.status, attended.patient_id) == ("checked_in", "p-2")
    assert (cancelled.status, cancelled.cancel_reason, cancelled.practitioner) == (
        "cancelled",
        "feeling better",
        "doctor2",
    )
    async with units.reading() as uow:
        assert await uow.appointments.get("b-2") == cancelled


async def test_busy_time_lapsed_holds_and_the_patients_overlaps(units: Any) -> None:
    lapsed = visit(3, TEN + timedelta(hours=1), patient=None, status=Status.HELD, hold_until=NOW)
    live = visit(4, TEN + timedelta(hours=2), patient=None, status=Status.HELD)
    live = replace(live, hold_expires_at=NOW + timedelta(minutes=5))
    await _add(
        units,
        visit(1),
        visit(2, practitioner="doctor2", patient="p-2"),
        lapsed,
        live,
        visit(5, TEN + timedelta(hours=3), status=Status.CANCELLED),
        visit(6, TEN + timedelta(days=1)),  # outside the window
    )
    lo, hi = TEN - timedelta(hours=1), TEN + timedelta(hours=4)
    minute = int(TEN.timestamp() // 60)

    async with units.reading() as uow:
        appointments = uow.appointments
        busy, holds = await appointments.blocks_and_lapsed_holds(["doctor1"], lo, hi, NOW)
        but_one = await appointments.blocks_and_lapsed_holds(["doctor1"], lo, hi, NOW, "b-1")
        both = await appointments.busy_blocks(["doctor1", "doctor2"], lo, hi, NOW)
        overlaps = [
            await appointments.patient_overlaps("p-1", TEN + timedelta(minutes=10), hi, NOW),
            await appointments.patient_overlaps("p-1", TEN + timedelta(minutes=20), hi, NOW),
            await appointments.patient_overlaps("p-1", TEN, hi, NOW, exclude_id="b-1"),
            await appointments.patient_overlaps("p-2", lo, hi, NOW),
        ]

    assert {k: sorted(v) for k, v in busy.items()} == {
        "doctor1": [(minute, minute + 25), (minute + 120, minute + 145)]
    }
    assert holds == {"doctor1"}
    assert dict(but_one[0]) == {"doctor1": [(minute + 120, minute + 145)]}
    assert sorted(both) == ["doctor1", "doctor2"]
    assert overlaps == [True, False, False, True]


async def test_who_to_choose_the_days_load_and_the_previous_practitioner(units: Any) -> None:
    await _add(
        units,
        visit(1, practitioner="nurse"),
        visit(2, TEN + timedelta(hours=1), practitioner="nurse", patient="p-2"),
        visit(3, TEN + timedelta(hours=2), practitioner="doctor2", patient="p-2"),
        visit(4, TEN + timedelta(hours=3), practitioner="doctor1", status=Status.CANCELLED),
        visit(5, TEN - timedelta(days=7), practitioner="doctor2", status=Status.COMPLETED),
    )
    day = (TEN - timedelta(hours=10), TEN + timedelta(hours=14))
    eligible = ["doctor1", "doctor2", "nurse"]

    async with units.reading() as uow:
        load = await uow.appointments.day_load(eligible, *day, NOW)
        previous = await uow.appointments.previous_practitioner(
            "p-1", "alternative_medicine", eligible
        )
        elsewhere = await uow.appointments.previous_practitioner("p-1", "weight_loss", eligible)
        among = await uow.appointments.previous_practitioner(
            "p-1", "alternative_medicine", ["doctor2"]
        )

    assert load == {"nurse": 2, "doctor2": 1}
    assert (previous, elsewhere, among) == ("nurse", None, "doctor2")


async def test_search_filters_orders_and_limits(units: Any) -> None:
    await _add(
        units,
        visit(2, TEN + timedelta(hours=1)),
        visit(1, TEN),
        visit(3, TEN, practitioner="doctor2", patient="p-2"),
        visit(4, TEN + timedelta(days=2)),
    )

    async with units.reading() as uow:
        every = await uow.appointments.search(None, None, None, 10)
        first_two = await uow.appointments.search(None, None, None, 2)
        doctor1_day = await uow.appointments.search(
            "doctor1", TEN - timedelta(hours=1), TEN + timedelta(hours=12), 10
        )
        patient2 = await uow.appointments.search(None, None, None, 10, patient_id="p-2")

    assert [a.id for a in every] == ["b-1", "b-3", "b-2", "b-4"]
    assert [a.id for a in first_two] == ["b-1", "b-3"]
    assert [a.id for a in doctor1_day] == ["b-1", "b-2"]
    assert [a.id for a in patient2] == ["b-3"]


async def test_lapsed_holds_are_expired_in_a_window_and_deleted_past_retention(
    units: Any,
) -> None:
    old = NOW - timedelta(days=40)
    await _add(
        units,
        visit(1, patient=None, status=Status.HELD, hold_until=NOW - timedelta(minutes=1)),
        visit(2, TEN, practitioner="doctor2", patient=None, status=Status.HELD, hold_until=NOW),
        visit(3, TEN + timedelta(hours=5), patient=None, status=Status.HELD, hold_until=NOW),
        visit(
            4, TEN + timedelta(hours=7), patient=None, status=Status.HELD, hold_until=old, at=old
        ),
        visit(5, TEN + timedelta(hours=8), patient=None, status=Status.EXPIRED, at=old),
        visit(6, TEN + timedelta(hours=9), status=Status.CANCELLED, at=old),
    )
    async with units() as uow:
        await uow.idempotency_keys.remember("anonymous", "k-5", "f" * 64, "b-5", old)
        expired = await uow.appointments.expire_lapsed_holds(
            "doctor1", TEN - timedelta(hours=1), TEN + timedelta(hours=1), NOW
        )
        await uow.commit()
    cutoff = NOW - timedelta(days=30)

    async with units.reading() as uow:
        due = await uow.appointments.lapsed_holds(cutoff)
    async with units() as uow:
        deleted = await uow.appointments.delete_lapsed_holds(cutoff)
        await uow.commit()
    async with units.reading() as uow:
        left = [a.id for a in await uow.appointments.search(None, None, None, 10)]
        key = await uow.idempotency_keys.find("anonymous", "k-5")

    assert [(a.id, a.status, a.updated_at) for a in expired] == [("b-1", "expired", NOW)]
    assert due == deleted == ["b-4", "b-5"]
    assert left == ["b-1", "b-2", "b-3", "b-6"]
    assert key is None


async def test_an_idempotency_key_finds_its_request_and_booking(units: Any) -> None:
    await _add(units, visit(1))
    async with units() as uow:
        await uow.idempotency_keys.remember("anonymous", "key-1", "a" * 64, "b-1", NOW)
        await uow.commit()

    async with units.reading() as uow:
        found = await uow.idempotency_keys.find("anonymous", "key-1")
        other_scope = await uow.idempotency_keys.find("desk-1", "key-1")

    assert found == ("a" * 64, visit(1))
    assert other_scope is None


# --- the database's own part ---------------------------------------------------------------


@pytest.fixture
async def sql(database_url: str) -> AsyncIterator[Factory[SqlBookingUnitOfWork]]:
    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.execute(insert(patients), PATIENT_ROWS)
    yield Factory(db, SqlBookingUnitOfWork)
    await db.dispose()


async def test_a_row_the_constraints_refuse_is_a_lost_race_said_as_the_block_ends(
    sql: Factory[SqlBookingUnitOfWork],
) -> None:
    await _add(sql, visit(1))
    if sql().db.is_sqlite:  # no exclusion constraints: the serialized writer checks first
        pytest.skip("SQLite has no exclusion constraints")
    taken: list[str | None] = []
    for row in (
        visit(2, TEN + timedelta(minutes=10), patient="p-2"),  # doctor1's time
        visit(3, TEN + timedelta(minutes=10), practitioner="doctor2"),  # p-1's time
    ):
        with pytest.raises(RaceLost) as lost:
            await _add(sql, row)
        taken.append(lost.value.taken)

    assert taken == ["slot", "patient"]


async def test_a_savepoint_rolled_back_forgets_the_slot_locks_taken_after_it(
    sql: Factory[SqlBookingUnitOfWork],
) -> None:
    async with sql() as uow:
        await uow.slot_locks.queue_for([1, 2])
        undo = await uow.savepoint("member_1")
        await uow.slot_locks.queue_for([3])
        after = set(uow.slot_locks.held)
        await undo()
        restored = set(uow.slot_locks.held)

    if uow.db.is_sqlite:  # writers are serialized: no locks to take
        assert (after, restored) == (set(), set())
    else:
        assert (after, restored) == ({1, 2, 3}, {1, 2})


async def test_the_repositories_close_with_their_unit_of_work(
    sql: Factory[SqlBookingUnitOfWork],
) -> None:
    async with sql.reading() as reading:
        assert await reading.appointments.get("b-1") is None
        with pytest.raises(TransactionClosed):
            _ = reading.patients  # a read is given no patients' matcher
    with pytest.raises(TransactionClosed):
        _ = reading.appointments
