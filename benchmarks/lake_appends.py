"""The lake writer's appends as a day of syncs piles them up (adapters/lake/iceberg.py, "A
bounded history" in docs/analytics.md): `--appends` commits of `--rows` events each, one per
sync, through `IcebergLake.append` on an SQLite catalog in a temp dir. Prints the time of the
first and the last `--window` appends, the whole run, and what is left in the table's
metadata folder; a history that grows makes the last appends slower than the first.

    .venv/bin/python benchmarks/lake_appends.py --appends 300
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clinicflow.adapters.lake.iceberg import IcebergLake, open_catalog
from clinicflow.analytics.domain.lake import Row

START = datetime(2026, 11, 1, 8, tzinfo=UTC)


def _rows(first: int, count: int) -> list[Row]:
    return [
        {
            "seq": seq,
            "event_id": f"event-{seq}",
            "type": "booking.created",
            "version": 1,
            "occurred_at": START + timedelta(minutes=seq),
            "recorded_at": START + timedelta(minutes=seq),
            "patient_key": f"patient-{seq % 500}",
            "service": "alt_med",
        }
        for seq in range(first, first + count)
    ]


async def _run(folder: Path, appends: int, rows: int, window: int) -> None:
    lake = IcebergLake(
        lambda: open_catalog(f"sqlite:///{folder / 'catalog.sqlite3'}", str(folder / "lake"))
    )
    took: list[float] = []
    mark = 0
    for _ in range(appends):
        started = time.perf_counter()
        await lake.append(_rows(mark + 1, rows), since=mark, mark=mark + rows, forget=())
        took.append(time.perf_counter() - started)
        mark += rows
    table = lake.table()
    metadata = folder / "lake" / "analytics" / "events" / "metadata"
    left = sorted(p.suffix for p in metadata.iterdir())
    first, last = took[:window], took[-window:]
    print(f"appends={appends} rows_each={rows} total_s={sum(took):.2f}")
    print(f"first_{window}_mean_ms={1000 * sum(first) / len(first):.1f}")
    print(f"last_{window}_mean_ms={1000 * sum(last) / len(last):.1f}")
    print(
        f"snapshots={len(table.snapshots())} metadata_json={left.count('.json')} "
        f"avro={left.count('.avro')} rows={table.scan().to_arrow().num_rows}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--window", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(Path(folder), args.appends, args.rows, args.window))


if __name__ == "__main__":
    main()
