"""The audit log's hash chain on a real, migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, inspect, select, text, update
from sqlalchemy.engine import Connection

from clinicflow.infra._audit_chain import GENESIS, pending_mac, row_mac
from clinicflow.infra.audit import (
    AuditEntry,
    audit_log,
    audit_pending,
    seal,
    search,
    use_key,
    verify,
    verify_database,
)
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import UnitOfWork

# Retention and the audit chain are SQL that each dialect must answer alike.
pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
KEY = KeyRing.generate().audit_key


def _entry(n: int, **overrides: object) -> AuditEntry:
    values: dict[str, object] = {
        "actor_type": "user",
        "actor_id": f"user-{n % 3}",
        "role": "front_desk",
        "action": "read",
        "resource_type": "patient",
        "resource_id": f"res-{n}",
        "patient_id": f"pat-{n % 4}",
        "source_ip": "203.0.113.7",
        "request_id": f"req-{n}",
    }
    values.update(overrides)
    return AuditEntry(**values)  # type: ignore[arg-type]


@pytest.fixture
def db(database_of_test: Database) -> Database:
    use_key(database_of_test, KEY)
    return database_of_test


def _pending(n: int) -> dict[str, object]:
    """An entry as `append` buffers it (signed with the chain key), committed unsealed."""
    fields = {**asdict(_entry(n)), "at": NOW + timedelta(minutes=n)}
    return fields | {"mac": pending_mac(KEY, fields)}


async def _append(db: Database, entry: AuditEntry, at: datetime) -> None:
    async with UnitOfWork(db) as uow:
        uow.audit(entry, at)
        await uow.commit()  # sealed into the chain before the block ends


async def _fill(db: Database, count: int) -> None:
    for n in range(1, count + 1):
        # Odd microseconds: the canonical time must round-trip at full precision.
        await _append(db, _entry(n), NOW + timedelta(minutes=n, microseconds=123_457 * n))


async def _sql(db: Database, statement: str) -> None:
    async with UnitOfWork(db) as uow:
        await uow.connection.execute(text(statement))
        await uow.commit()


async def test_an_untouched_log_verifies_in_any_batch_size(db: Database) -> None:
    await _fill(db, 20)
    async with db.read() as conn:
        whole = await verify(conn)
        paged = await verify(conn, batch_size=7)
        last_hash = (await conn.execute(select(audit_log.c.hash).where(audit_log.c.id == 20))).one()
    assert whole.ok
    assert paged.ok
    assert whole.checked == paged.checked == 20
    assert whole.first_bad_id is None
    assert whole.problem is None
    assert whole.head_hash == last_hash.hash


async def test_an_empty_log_verifies(db: Database) -> None:
    async with db.read() as conn:
        result = await verify(conn)
    assert result.ok
    assert result.checked == 0
    assert result.head_hash is None


async def test_the_first_row_links_to_the_genesis_hash_and_each_row_to_the_last(
    db: Database,
) -> None:
    await _fill(db, 3)
    async with db.read() as conn:
        rows = (await conn.execute(select(audit_log).order_by(audit_log.c.id))).all()
    assert [r.id for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash


@pytest.mark.parametrize(
    ("tampering", "first_bad_id", "checked", "problem"),
    [
        pytest.param(
            "UPDATE infra_audit_log SET resource_id='x' WHERE id=7",
            7,
            6,
            "row 7: hash does not match its contents (edited?)",
            id="editing_a_column_is_detected_at_that_row",
        ),
        pytest.param(
            "DELETE FROM infra_audit_log WHERE id=12",
            13,
            11,
            "row 13: previous-hash link broken after row 11 (row 12 deleted?)",
            id="deleting_a_middle_row_is_named_at_the_row_after_it",
        ),
    ],
)
async def test_tampering_is_named_at_the_first_bad_row(
    db: Database, tampering: str, first_bad_id: int, checked: int, problem: str
) -> None:
    await _fill(db, 20)
    await _sql(db, tampering)
    result = await verify_database(db.url, KEY)
    assert not result.ok
    assert result.first_bad_id == first_bad_id
    assert result.checked == checked
    assert result.problem == problem


async def test_editing_a_row_and_its_hash_breaks_the_next_link(db: Database) -> None:
    # Even someone holding the chain's key cannot edit a row without breaking the next link.
    await _fill(db, 20)
    async with UnitOfWork(db) as uow:
        conn = uow.connection
        row = (await conn.execute(select(audit_log).where(audit_log.c.id == 7))).one()
        forged = row._asdict() | {"outcome": "denied"}
        await conn.execute(
            update(audit_log)
            .where(audit_log.c.id == 7)
            .values(outcome="denied", hash=row_mac(KEY, 7, forged))
        )
        await uow.commit()
    result = await verify_database(db.url, KEY)
    assert result.first_bad_id == 8
    assert result.problem == "row 8: previous-hash link broken after row 7 (row 7 rewritten?)"


async def test_deleting_the_first_rows_is_detected(db: Database) -> None:
    await _fill(db, 5)
    await _sql(db, "DELETE FROM infra_audit_log WHERE id IN (1, 2)")
    result = await verify_database(db.url, KEY)
    assert result.first_bad_id == 3
    assert result.problem == (
        "row 3: previous-hash link broken at the start of the log (rows 1-2 deleted?)"
    )


async def test_deleting_only_the_newest_row_needs_a_recorded_head_hash(db: Database) -> None:
    # A pure chain cannot see a cut-off tail; comparing with a head hash kept elsewhere can.
    await _fill(db, 20)
    recorded = await verify_database(db.url, KEY)
    await _sql(db, "DELETE FROM infra_audit_log WHERE id=20")
    after = await verify_database(db.url, KEY)
    assert after.ok
    assert after.checked == 19
    assert after.head_hash != recorded.head_hash
    assert recorded.head_hash is not None
    anchored = await verify_database(db.url, KEY, {20: recorded.head_hash})
    assert not anchored.ok
    assert anchored.problem is not None
    assert "rows 20-20 missing" in anchored.problem


async def test_concurrent_appends_form_one_unbroken_chain(db: Database) -> None:
    # Appends take no lock; their seals do. Two unserialized sealers would give two rows the
    # same id (the primary key would fail one of them) or link both to one head.
    async def one(n: int) -> None:
        await _append(db, _entry(n), NOW + timedelta(seconds=n))

    await asyncio.gather(*(one(n) for n in range(30)))
    async with db.read() as conn:
        ids = (await conn.execute(select(audit_log.c.id).order_by(audit_log.c.id))).scalars()
        requests = (await conn.execute(select(audit_log.c.request_id))).scalars()
        assert list(ids) == list(range(1, 31))
        assert sorted(requests) == sorted(f"req-{n}" for n in range(30))
    result = await verify_database(db.url, KEY)
    assert result.ok
    assert result.checked == 30
    assert result.pending == 0


async def test_sealers_in_two_processes_share_one_chain(db: Database) -> None:
    """Two Database objects stand for two processes: each has its own in-process sealer,
    so only the database lock orders them."""
    other = Database(db.url)
    use_key(other, KEY)
    try:

        async def one(n: int) -> None:
            await _append(db if n % 2 else other, _entry(n), NOW + timedelta(seconds=n))

        await asyncio.gather(*(one(n) for n in range(40)))
    finally:
        await other.dispose()
    result = await verify_database(db.url, KEY)
    assert result.ok
    assert result.checked == 40
    assert result.pending == 0


async def test_an_entry_left_unsealed_is_counted_then_sealed_by_the_next_seal(
    db: Database,
) -> None:
    # A process that died between its commit and its seal: the entry committed, no seal ran.
    async with db.engine.begin() as conn:
        await conn.execute(insert(audit_pending).values(**_pending(1)))
    result = await verify_database(db.url, KEY)
    assert result.ok
    assert (result.checked, result.pending) == (0, 1)
    assert await seal(db) == 1
    after = await verify_database(db.url, KEY)
    assert (after.ok, after.checked, after.pending) == (True, 1, 0)


async def test_the_audit_row_rolls_back_with_its_transaction(db: Database) -> None:
    await _fill(db, 2)

    async def failing_change() -> None:
        async with UnitOfWork(db) as uow:
            uow.audit(_entry(3), NOW)
            raise RuntimeError("change failed")

    with pytest.raises(RuntimeError, match="change failed"):
        await failing_change()
    await _append(db, _entry(4), NOW)
    async with db.read() as conn:
        ids = (await conn.execute(select(audit_log.c.id).order_by(audit_log.c.id))).scalars()
        assert list(ids) == [1, 2, 3]  # no gap left behind
        count = (await conn.execute(select(func.count()).select_from(audit_log))).scalar_one()
        result = await verify(conn)
    assert count == 3
    assert result.ok
    assert result.checked == 3


async def test_search_filters_by_patient_actor_type_and_time(db: Database) -> None:
    await _fill(db, 12)  # entry n is at NOW + n minutes (and a little)
    await _append(db, _entry(13, resource_type="booking"), NOW + timedelta(hours=1))
    async with db.read() as conn:
        by_patient = await search(conn, patient_id="pat-1")
        by_actor = await search(conn, actor_id="user-2", limit=2)
        bookings = await search(conn, resource_type="booking")
        window = await search(
            conn, since=NOW + timedelta(minutes=3), until=NOW + timedelta(minutes=6)
        )
        combined = await search(conn, patient_id="pat-1", actor_id="user-0")
        older = await search(conn, before_id=3)
    assert [r.id for r in by_patient] == [13, 9, 5, 1]  # newest first
    assert [r.id for r in by_actor] == [11, 8]
    assert [r.id for r in bookings] == [13]
    assert [r.id for r in window] == [5, 4, 3]
    assert [r.id for r in combined] == [9]
    assert [r.id for r in older] == [2, 1]
    assert by_patient[0].at == NOW + timedelta(hours=1)


async def test_break_glass_is_recorded_with_its_reason_and_no_contact_details(
    db: Database,
) -> None:
    entry = _entry(1, break_glass=True, reason="covering for Dr. B, pt called 555-201-7788")
    await _append(db, entry, NOW)
    async with db.read() as conn:
        (record,) = await search(conn)
        result = await verify(conn)
    assert record.break_glass is True
    assert record.reason == "covering for Dr. B, pt called [redacted]"
    assert result.ok
    with pytest.raises(ValueError, match="reason"):
        _entry(2, break_glass=True)


async def test_append_refuses_a_naive_time(db: Database) -> None:
    async with UnitOfWork(db) as uow:
        with pytest.raises(ValueError, match="aware"):
            uow.audit(_entry(1), NOW.replace(tzinfo=None))


async def test_the_table_has_only_id_columns_and_no_phi(db: Database) -> None:
    def columns(sync_conn: Connection) -> set[str]:
        return {c["name"] for c in inspect(sync_conn).get_columns("infra_audit_log")}

    async with db.read() as conn:
        names = await conn.run_sync(columns)
    assert names == {
        "id", "at", "actor_type", "actor_id", "role", "action", "resource_type", "resource_id",
        "patient_id", "source_ip", "request_id", "outcome", "reason", "break_glass",
        "prev_hash", "hash",
    }  # fmt: skip
    assert names == {c.name for c in audit_log.columns}  # the migration matches the model


async def test_an_entry_committed_during_a_seal_is_not_lost(db: Database) -> None:
    """Ids are taken at insert: an entry with a lower id can commit after a later one has
    been sealed. It waits, pending, for the next seal, and the chain stays whole.
    (`retention/test_retention_audit_pruning.py::
    test_pruning_while_others_append_keeps_one_chain` races many.)"""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer: no transaction can interleave")
    async with db.engine.connect() as slow:
        async with slow.begin():
            await slow.execute(insert(audit_pending).values(**_pending(1)))  # id taken first
            await _append(db, _entry(2), NOW)  # commits second; its seal runs meanwhile
            async with db.read() as conn:
                sealed = (await conn.execute(select(audit_log.c.resource_id))).scalars().all()
            assert sealed == ["res-2"]
        assert await seal(db) == 1  # the slow one, committed now
    result = await verify_database(db.url, KEY)
    assert (result.ok, result.checked, result.pending) == (True, 2, 0)
