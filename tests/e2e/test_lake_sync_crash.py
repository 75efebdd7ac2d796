"""`clinicflow analytics lake-sync` killed (SIGKILL) in the middle of a batch, twice: the
next run resumes from the mark in the lake's last snapshot, and in the end every recorded
event is in the lake exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clinicflow.adapters.lake.iceberg import IcebergLake, open_catalog
from clinicflow.analytics.ports import RecordedEvent
from clinicflow.analytics.repository import SqlAnalyticsUnitOfWork
from clinicflow.infra.crypto import create
from clinicflow.infra.db import Database
from support import forked_cli
from support.migrated import migrated

# One fork server a run: tests that fork clinicflow run in one group (support/scheduling.py).
pytestmark = pytest.mark.xdist_group("serial")

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 120
AT = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


async def _record(url: str) -> None:
    await migrated(url)
    db = Database(url)
    async with SqlAnalyticsUnitOfWork(db) as uow:
        for n in range(EVENTS):
            at = AT + timedelta(days=n // 3)  # three months: several partitions
            payload: dict[str, object] = {"booking_id": f"b-{n}", "service": "massage"}
            event = RecordedEvent(
                f"00000000-0000-4000-8000-{n:012d}", "booking.created", 1, "booking", f"b-{n}",
                at, payload, at,
            )  # fmt: skip
            await uow.events.add(event)
        await uow.commit()
    await db.dispose()


def _kill_when(process: forked_cli.Command, parquet_files: int, warehouse: Path) -> None:
    deadline = time.monotonic() + 60
    while len(list(warehouse.rglob("*.parquet"))) < parquet_files:
        assert process.poll() is None, "lake-sync ended before it could be killed"
        assert time.monotonic() < deadline, "lake-sync wrote no data file in time"
        time.sleep(0.005)  # polling another process's files, not waiting for time to pass
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=20)


@pytest.mark.slow
def test_a_lake_sync_killed_mid_batch_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    asyncio.run(_record(url))
    create(tmp_path / "keys.json")
    env = {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": url,
        "CLINICFLOW_DATA_DIR": str(tmp_path),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
        "CLINICFLOW_LAKE_BATCH_SIZE": "4",
    }
    warehouse = tmp_path / "lake" / "warehouse"
    runs = 0

    def start() -> forked_cli.Command:
        # `clinicflow analytics lake-sync` as a process of its own, forked from one that
        # imported clinicflow once (support/forked_cli.py): killed with its own SIGKILL.
        nonlocal runs
        runs += 1
        out = tmp_path / f"lake-sync-{runs}.log"
        return forked_cli.Command(["analytics", "lake-sync"], env=env, cwd=tmp_path, stdout=out)

    _kill_when(start(), 1, warehouse)  # its first batch's files written, maybe not committed
    _kill_when(start(), len(list(warehouse.rglob("*.parquet"))) + 5, warehouse)
    last = start()
    last.wait(timeout=120)
    out = (tmp_path / f"lake-sync-{runs}.log").read_text()
    assert last.returncode == 0, out

    lake = IcebergLake(
        lambda: open_catalog(f"sqlite:///{tmp_path}/lake/catalog.sqlite3", str(warehouse))
    )
    table = lake.arrow()
    ids = table.column("event_id").to_pylist()
    assert len(ids) == EVENTS
    assert len(set(ids)) == EVENTS
    assert sorted(table.column("seq").to_pylist()) == list(range(1, EVENTS + 1))
    assert asyncio.run(lake.mark()) == EVENTS
    assert out.strip().endswith("events moved into the lake")
