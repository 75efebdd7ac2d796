"""The analytics lake (docs/analytics.md "The lake"): every recorded event lands once,
de-identified, in an Iceberg table; replays and rebuilds change nothing; no PHI reaches a
file; a de-identified patient's key is forgotten everywhere, old files included. On SQLite
and PostgreSQL, each with its own kind of Iceberg catalog (an SQLite file; the clinic's
PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx
import pytest
from sqlalchemy import func, select, update

from clinicflow.analytics.domain.lake import Kind, Pseudonyms
from clinicflow.analytics.tables import events
from clinicflow.bootstrap import Container
from clinicflow.bootstrap.analytics import lake_key
from clinicflow.patients.events import deidentified
from clinicflow.patients.tables import patients
from clinicflow.settings import Settings
from support.app import CLINIC_YAML
from support.lake import (
    CANARIES,
    checksum,
    files_under,
    make_history,
    phi_in_bytes,
    record,
    redeliver_all,
    values_in_parquet,
)

pytestmark = pytest.mark.both_databases


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # On PostgreSQL the Iceberg catalog lives in the clinic's database, as in production.
    catalog = database_url if database_url.startswith("postgresql") else None
    return Settings(
        database_url=database_url,
        config_path=CLINIC_YAML,
        data_dir=tmp_path,
        keys_file=tmp_path / "keys.json",
        lake_catalog_url=catalog,
        lake_batch_size=3,
    )


async def _recorded(container: Container) -> int:
    async with container.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())


async def test_every_event_lands_once_and_replays_and_rebuilds_change_nothing(
    container: Container, client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    await make_history(container, client, front_desk)
    recorded = await _recorded(container)
    assert recorded >= 4  # three bookings made, one cancelled
    writer, lake = container.analytics.writer, container.analytics.lake

    assert await writer.sync() == recorded
    first = checksum(lake.arrow())
    assert first[0] == recorded
    assert await lake.mark() == recorded

    assert await redeliver_all(container) == recorded  # the whole stream, again
    assert await writer.sync() == 0
    assert checksum(lake.arrow()) == first
    assert await redeliver_all(container) == recorded  # and a second time
    assert await writer.sync() == 0
    assert checksum(lake.arrow()) == first

    assert await writer.rebuild() == recorded  # `clinicflow analytics backfill`
    assert checksum(lake.arrow()) == first
    assert await writer.rebuild() == recorded
    assert checksum(lake.arrow()) == first
    ids = lake.arrow().column("event_id").to_pylist()
    assert len(set(ids)) == recorded


async def test_patients_appear_as_keyed_hashes_with_coarse_traits_and_no_phi_anywhere(
    container: Container,
    client: httpx.AsyncClient,
    front_desk: dict[str, str],
    settings: Settings,
) -> None:
    patient_id = await make_history(container, client, front_desk)
    await container.analytics.writer.sync()
    table = container.analytics.lake.arrow()
    key = Pseudonyms(lake_key(container.keys)).of(Kind.PATIENT, patient_id)
    theirs = [r for r in table.to_pylist() if r["patient_key"] == key]
    assert {r["type"] for r in theirs} == {"booking.created", "booking.cancelled"}
    assert {(r["zip3"], r["age_band"], r["source"]) for r in theirs} == {
        ("606", "45-54", "campaign")
    }
    assert all(r["patient_key"] != patient_id for r in table.to_pylist())

    lake_dir = settings.data_dir / "lake"
    files = files_under(lake_dir)
    assert any(p.suffix == ".parquet" for p in files)
    needles = [*CANARIES.values(), CANARIES["phone"].removeprefix("+1"), patient_id]
    assert phi_in_bytes(files, needles) == []
    every_value = "\n".join(values_in_parquet(files))
    assert [n for n in needles if n.lower() in every_value.lower()] == []
    if not settings.database_url.startswith("postgresql"):
        return
    async with container.db.read() as conn:  # the catalog's rows, on PostgreSQL
        rows = await conn.exec_driver_sql("SELECT * FROM iceberg_tables")
        catalog = repr(rows.all())
    assert "analytics" in catalog
    assert [n for n in needles if n in catalog] == []


async def test_a_deidentified_patient_is_forgotten_in_every_file_of_the_lake(
    container: Container,
    client: httpx.AsyncClient,
    front_desk: dict[str, str],
    settings: Settings,
) -> None:
    patient_id = await make_history(container, client, front_desk)
    writer, lake = container.analytics.writer, container.analytics.lake
    await writer.sync()
    before = lake.arrow().num_rows
    key = Pseudonyms(lake_key(container.keys)).of(Kind.PATIENT, patient_id)
    assert key in lake.arrow().column("patient_key").to_pylist()

    # What the retention run does to the record, and the event it publishes.
    async with container.db.write_transaction() as conn:
        gone = dict.fromkeys(c.name for c in patients.c if c.name.endswith(("_enc", "_bidx")))
        stamp = update(patients).where(patients.c.id == patient_id)
        await conn.execute(stamp.values(**gone, deidentified_at=container.clock.now()))
        await conn.commit()
    event = deidentified(patient_id, container.clock.now())
    await record(container, event)
    assert await writer.sync() == 1

    table = lake.arrow()
    assert table.num_rows == before + 1
    assert key not in table.column("patient_key").to_pylist()
    booked = [r for r in table.to_pylist() if r["type"] == "booking.created"]
    assert len(booked) == 3  # the visits still count
    files = files_under(settings.data_dir / "lake")
    assert key not in "\n".join(values_in_parquet(files))  # old files too
    assert phi_in_bytes(files, [key]) == []
    assert len(lake.table().snapshots()) == 1  # no way back to the old rows

    assert await writer.rebuild() == before + 1  # a rebuild never writes the key again
    assert key not in lake.arrow().column("patient_key").to_pylist()


async def test_duckdb_reads_the_snapshots_parquet_files(
    container: Container, client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    await make_history(container, client, front_desk)
    lake = container.analytics.lake
    await container.analytics.writer.sync()
    files = [f.removeprefix("file://") for f in lake.data_files()]
    con = duckdb.connect()
    by_type = con.execute(
        "SELECT type, count(*) FROM read_parquet(?) GROUP BY type ORDER BY type", [files]
    ).fetchall()
    arrow = lake.arrow()
    expected = con.execute(
        "SELECT type, count(*) FROM arrow GROUP BY type ORDER BY type"
    ).fetchall()
    assert by_type == expected
    assert ("booking.cancelled", 1) in by_type
    assert sum(n for _, n in by_type) == arrow.num_rows
