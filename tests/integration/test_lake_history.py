"""The Iceberg lake's history stays bounded (adapters/lake/iceberg.py, docs/analytics.md "The
lake"): the writer appends every minute, and each append is a snapshot, a manifest list, a
manifest and a metadata file. Old snapshots are expired with the files only they referenced,
small manifests are merged, old metadata files are deleted, and no row is lost on the way;
a table made before the upkeep gets it at its next append."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyiceberg.table import Table

from clinicflow.adapters.lake.iceberg import (
    _PROPERTIES,
    IcebergLake,
    events_partitioning,
    events_schema,
    open_catalog,
)
from clinicflow.analytics.domain.lake import Row

START = datetime(2026, 10, 20, 9, tzinfo=UTC)  # three months' partitions over the appends


def _row(seq: int) -> Row:
    at = START + timedelta(days=3 * seq)
    return {
        "seq": seq,
        "event_id": f"event-{seq}",
        "type": "booking.created",
        "version": 1,
        "occurred_at": at,
        "recorded_at": at,
        "patient_key": f"patient-{seq % 4}",
    }


def _lake(tmp_path: Path, history: int) -> IcebergLake:
    return IcebergLake(
        lambda: open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite3'}", str(tmp_path / "lake")),
        history=history,
    )


def _on_disk(tmp_path: Path, suffix: str) -> set[str]:
    return {str(p.resolve()) for p in (tmp_path / "lake").rglob(f"*{suffix}")}


def _paths(uris: Iterable[str]) -> set[str]:
    return {uri.removeprefix("file://") for uri in uris}


def _referenced(table: Table) -> tuple[set[str], set[str]]:
    """The manifest lists and manifests the table's snapshots name."""
    lists = _paths(s.manifest_list for s in table.snapshots())
    manifests = _paths(m.manifest_path for s in table.snapshots() for m in s.manifests(table.io))
    return lists, manifests


def _seqs(lake: IcebergLake) -> list[int]:
    return sorted(lake.arrow().column("seq").to_pylist())


async def test_a_lake_appended_every_minute_keeps_a_bounded_history_and_every_row(
    tmp_path: Path,
) -> None:
    lake = _lake(tmp_path, history=2)
    appends = 20
    for seq in range(1, appends + 1):
        await lake.append([_row(seq)], since=seq - 1, mark=seq, forget=())

    table = lake.table()
    assert _seqs(lake) == list(range(1, appends + 1))  # nothing lost
    assert await lake.mark() == appends
    assert 2 <= len(table.snapshots()) < 4  # expired down to 2 each time 4 had piled up
    assert len(table.metadata.metadata_log) <= 2
    assert len(_on_disk(tmp_path, ".metadata.json")) <= 3  # the log's and the current one
    lists, manifests = _referenced(table)
    assert _on_disk(tmp_path, ".avro") == lists | manifests  # nothing left behind
    current = table.current_snapshot()
    assert current is not None
    assert len(current.manifests(table.io)) < 16  # merged: one per append would be 20
    assert _on_disk(tmp_path, ".parquet") == _paths(lake.data_files())  # appends drop no data

    # Forgetting a patient expires the rest too, with the files only they named.
    await lake.append([_row(appends + 1)], since=appends, mark=appends + 1, forget={"patient-3"})
    table = lake.table()
    assert len(table.snapshots()) == 1
    assert "patient-3" not in lake.arrow().column("patient_key").to_pylist()
    assert _seqs(lake) == list(range(1, appends + 2))
    lists, manifests = _referenced(table)
    assert _on_disk(tmp_path, ".avro") == lists | manifests
    assert _on_disk(tmp_path, ".parquet") == _paths(lake.data_files())


async def test_a_lake_made_before_the_upkeep_gets_it_at_its_next_append(tmp_path: Path) -> None:
    lake = _lake(tmp_path, history=3)
    catalog = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite3'}", str(tmp_path / "lake"))
    catalog.create_namespace_if_not_exists(lake.identifier[0])
    schema = events_schema()
    catalog.create_table(  # as the lake made its table before
        lake.identifier,
        schema=schema,
        partition_spec=events_partitioning(schema),
        properties=_PROPERTIES,
    )
    assert "commit.manifest-merge.enabled" not in lake.table().properties

    for seq in range(1, 8):
        await lake.append([_row(seq)], since=seq - 1, mark=seq, forget=())

    table = lake.table()
    assert table.properties["commit.manifest-merge.enabled"] == "true"
    assert table.properties["write.metadata.delete-after-commit.enabled"] == "true"
    assert table.properties["write.metadata.previous-versions-max"] == "3"
    assert len(table.snapshots()) < 6
    assert _seqs(lake) == list(range(1, 8))
