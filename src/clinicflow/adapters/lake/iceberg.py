"""The analytics lake as an Apache Iceberg table: pyiceberg's SQL catalog (an SQLite file on
the embedded default, the clinic's PostgreSQL in production) over Parquet files on a local
folder or an S3-compatible store, partitioned by month of `occurred_at`.

Exactly once: the writer's high-water mark (`clinicflow.lake.mark`, the place of the last
event taken) is a property of the snapshot each commit makes, so the rows and the mark land
in one atomic catalog update; a crash before it leaves neither (only unreferenced files),
after it both. A commit names the mark it was read after (`since`) and fails if the table
moved meanwhile (another writer, or pyiceberg's own snapshot check at commit).

Forgetting a patient rewrites the data files that hold their key (copy-on-write: pyiceberg's
`overwrite` with a filter on the key, in the same commit as the batch), then expires every
older snapshot and deletes the files only those referenced: an Iceberg snapshot is a way back
to the old rows, so keeping one would keep the key. Column metrics are off for the key
columns, so manifests (which outlive their data files) never hold a key either.

A bounded history: the writer appends every `lake_sync_seconds` (each append a snapshot, a
manifest list, a manifest and a metadata file), so left alone a table's metadata, and the
work of every commit and every read, would grow without end (~1,440 snapshots a day). Each
append therefore reads only the current snapshot's mark (the list of data files only when a
patient is forgotten); small manifests are merged as they pile up (Iceberg's
`commit.manifest-merge.enabled`); only the last `history` metadata files are kept
(`write.metadata.delete-after-commit.enabled`); and once `2 * history` snapshots have piled
up, all but the newest `history` are expired and the manifest lists and manifests only they
referenced deleted. Data files are not: appends never drop one, and a forgotten patient's
are deleted as above. A table made before this gets the properties at its next append.

pyiceberg is synchronous; each call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinicflow.analytics.domain.lake import COLUMNS, CORE, TRAIT_COLUMNS, Kind, Row
from clinicflow.analytics.errors import LakeConflict
from clinicflow.analytics.ports import Lake
from clinicflow.infra.logging import get_logger

# pyiceberg and pyarrow take seconds to import: every process that wires the app (serve,
# workers, each CLI command) would pay for them, and only the lake's own work uses them, so
# they are imported where that work is done.
if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

log = get_logger(__name__)

MARK = "clinicflow.lake.mark"
NAMESPACE = "analytics"
EVENTS = "events"
_REQUIRED = {name for name, _ in CORE}
_KEYS = ("patient_key", "contact_key")
HISTORY = 10  # snapshots, and metadata files besides the current one, kept after upkeep
_UPKEEP = {
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "16",
    "write.metadata.delete-after-commit.enabled": "true",
}
_PROPERTIES = {
    "format-version": "2",
    "write.parquet.compression-codec": "zstd",
    **{f"write.metadata.metrics.column.{name}": "none" for name in _KEYS},
}


def events_schema() -> Schema:
    from pyiceberg.schema import Schema
    from pyiceberg.types import ListType, LongType, NestedField, StringType, TimestamptzType

    fields: list[NestedField] = []
    list_ids = len(COLUMNS) + 1
    for field_id, (name, kind) in enumerate(COLUMNS, 1):
        if kind is Kind.IDS:
            kind_type: Any = ListType(list_ids, StringType(), element_required=True)
            list_ids += 1
        elif kind is Kind.INT:
            kind_type = LongType()
        elif kind is Kind.INSTANT:
            kind_type = TimestamptzType()
        else:
            kind_type = StringType()
        fields.append(NestedField(field_id, name, kind_type, required=name in _REQUIRED))
    return Schema(*fields)


def events_partitioning(schema: Schema) -> PartitionSpec:
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import MonthTransform

    occurred = schema.find_field("occurred_at").field_id
    return PartitionSpec(
        PartitionField(occurred, 1000, MonthTransform(), "occurred_month"), spec_id=0
    )


def open_catalog(url: str, warehouse: str, **properties: str) -> SqlCatalog:
    """The SQL catalog at `url` (SQLAlchemy form; an asyncpg URL is read with psycopg2),
    its tables' files under `warehouse` (a folder, `file://` or `s3://` URL)."""
    from pyiceberg.catalog.sql import SqlCatalog

    url = url.replace("postgresql+asyncpg://", "postgresql+psycopg2://", 1)
    url = url.replace("sqlite+aiosqlite://", "sqlite://", 1)
    if "://" not in warehouse:
        Path(warehouse).mkdir(parents=True, exist_ok=True)
        warehouse = Path(warehouse).resolve().as_uri()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return SqlCatalog("clinicflow", uri=url, warehouse=warehouse, **properties)


class IcebergLake:
    """`analytics.Lake` over one Iceberg table (`analytics.events` by default)."""

    def __init__(
        self, catalog: Callable[[], Catalog], name: str = EVENTS, *, history: int = HISTORY
    ) -> None:
        self._open = catalog  # opened on first use: building the app touches no files
        self._opened: Catalog | None = None
        self.identifier = (NAMESPACE, name)
        self.history = history

    @property
    def _catalog(self) -> Catalog:
        if self._opened is None:
            self._opened = self._open()
        return self._opened

    # -- the port -------------------------------------------------------------------------

    async def mark(self) -> int:
        return await asyncio.to_thread(lambda: _mark_of(self.table()))

    async def append(
        self, rows: Sequence[Row], *, since: int, mark: int, forget: Collection[str]
    ) -> None:
        await asyncio.to_thread(self._append, rows, since, mark, set(forget))

    async def rebuild(self) -> IcebergLake:
        return await asyncio.to_thread(self._rebuild)

    async def replace(self, rebuilt: Lake) -> None:
        if not isinstance(rebuilt, IcebergLake):
            raise TypeError("an Iceberg lake is replaced by one it rebuilt")
        await asyncio.to_thread(self._replace, rebuilt)

    # -- reading, for tests and engines ----------------------------------------------------

    async def files(self) -> list[str]:
        """analytics' `LakeFiles`: `data_files`, in a thread."""
        return await asyncio.to_thread(self.data_files)

    def table(self) -> Table:
        """The table, made on first use."""
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self._catalog.load_table(self.identifier)
        except NoSuchTableError:
            return self._create()

    def arrow(self) -> pa.Table:
        return self.table().scan().to_arrow()

    def data_files(self) -> list[str]:
        """The Parquet files of the current snapshot (what DuckDB or Spark read)."""
        return [task.file.file_path for task in self.table().scan().plan_files()]

    # -- the work, in a thread ------------------------------------------------------------

    def _create(self) -> Table:
        self._catalog.create_namespace_if_not_exists(NAMESPACE)
        schema = events_schema()
        try:
            return self._catalog.create_table(
                self.identifier,
                schema=schema,
                partition_spec=events_partitioning(schema),
                properties={**_PROPERTIES, **self._upkeep()},
            )
        except Exception:
            # Made by another process meanwhile (each catalog names its own error for it).
            return self._catalog.load_table(self.identifier)

    def _append(self, rows: Sequence[Row], since: int, mark: int, forget: set[str]) -> None:
        import pyarrow as pa
        from pyiceberg.exceptions import CommitFailedException
        from pyiceberg.expressions import In
        from pyiceberg.io.pyarrow import schema_to_pyarrow

        table = self._upkept(self.table())
        found = _mark_of(table)
        if found != since:
            raise LakeConflict(f"the lake's mark is {found}, not {since}: another writer ran")
        before = set(_files(table)) if forget else set()  # read every manifest: only to forget
        summary = {MARK: str(mark)}
        batch = pa.Table.from_pylist(list(rows), schema=schema_to_pyarrow(table.schema()))
        tx = table.transaction()
        keyed = In(term="patient_key", literals=forget) if forget else None
        rewritten = keyed is not None and self._forget(table, tx, keyed, summary)
        if batch.num_rows or not rewritten:
            tx.append(batch, snapshot_properties=summary)
        try:
            tx.commit_transaction()
        except CommitFailedException as exc:
            raise LakeConflict("another writer committed to the lake first") from exc
        if rewritten:
            self._drop_history(before)
        else:
            self._bound_history(table)  # the committed table: pyiceberg updates it in place

    def _upkeep(self) -> dict[str, str]:
        return {**_UPKEEP, "write.metadata.previous-versions-max": str(self.history)}

    def _upkept(self, table: Table) -> Table:
        """`table`, with the upkeep properties set first if it was made without them."""
        from pyiceberg.exceptions import CommitFailedException

        missing = {k: v for k, v in self._upkeep().items() if table.properties.get(k) != v}
        if not missing:
            return table
        try:
            return table.transaction().set_properties(missing).commit_transaction()
        except CommitFailedException as exc:  # as an append would: this run stops, kept
            raise LakeConflict("another writer changed the lake's table first") from exc

    def _bound_history(self, table: Table) -> None:
        """Once `2 * history` snapshots have piled up, all but the newest `history` expired."""
        from pyiceberg.exceptions import CommitFailedException

        snapshots = sorted(table.snapshots(), key=lambda s: s.sequence_number or 0)
        if len(snapshots) < 2 * self.history:
            return
        # Another writer may have moved the table meanwhile: a later append expires them.
        with contextlib.suppress(CommitFailedException):
            _expire(table, snapshots[: -self.history], snapshots[-self.history :])

    @staticmethod
    def _forget(table: Table, tx: Any, keyed: BooleanExpression, summary: dict[str, str]) -> bool:
        """Stage the rewrite of the rows holding a forgotten key; False when none does."""
        import pyarrow as pa

        holding = table.scan(row_filter=keyed).to_arrow()
        if holding.num_rows == 0:
            return False
        for name in TRAIT_COLUMNS:
            at = holding.schema.get_field_index(name)
            field = holding.field(at)
            holding = holding.set_column(at, field, pa.nulls(holding.num_rows, field.type))
        tx.overwrite(holding, overwrite_filter=keyed, snapshot_properties=summary)
        return True

    def _drop_history(self, before: set[str]) -> None:
        """Expire every snapshot but the current one and delete the data files only they
        referenced: the rows with a forgotten key are then gone from the store."""
        table = self.table()
        current = table.current_snapshot()
        older = [s for s in table.snapshots() if current is None or s != current]
        _expire(table, older, [current] if current else [])
        for path in before - set(_files(table)):
            table.io.delete(path)
        log.info("lake_history_dropped", snapshots=len(older))

    def _rebuild(self) -> IcebergLake:
        catalog = self._catalog
        fresh = IcebergLake(lambda: catalog, f"{self.identifier[1]}_rebuild", history=self.history)
        if self._catalog.table_exists(fresh.identifier):
            self._catalog.purge_table(fresh.identifier)  # left by a rebuild that died
        fresh._create()
        return fresh

    def _replace(self, rebuilt: IcebergLake) -> None:
        if self._catalog.table_exists(self.identifier):
            self._catalog.purge_table(self.identifier)
        self._catalog.rename_table(rebuilt.identifier, self.identifier)


def _mark_of(table: Table) -> int:
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary[MARK] or 0)


def _expire(table: Table, older: Sequence[Snapshot], kept: Sequence[Snapshot]) -> None:
    """`older` expired (pyiceberg updates `table` in place), then the manifest lists and the
    manifests only they referenced deleted, with what their commits wrote and never committed
    (pyiceberg leaves a manifest it merged away in the same commit): after the commit, so a
    crash between the two leaves files that nothing refers to, never a reference to a missing
    file. Only the expired commits' files are touched, never a concurrent writer's."""
    if not older:
        return
    table.maintenance.expire_snapshots().by_ids([s.snapshot_id for s in older]).commit()
    io = table.io
    still = {m.manifest_path for s in kept for m in s.manifests(io)}
    gone = {m.manifest_path for s in older for m in s.manifests(io)}
    gone |= {s.manifest_list for s in older}
    gone |= _written_by(table, {_commit_of(s.manifest_list) for s in older})
    for path in gone - still:
        io.delete(path)
    log.info("lake_snapshots_expired", snapshots=len(older), files=len(gone - still))


def _commit_of(manifest_list: str) -> str:
    """The commit's id in a manifest list's name (`snap-<snapshot>-<attempt>-<commit>.avro`)."""
    return manifest_list.rsplit("/", 1)[-1].removesuffix(".avro").split("-", 3)[-1]


def _written_by(table: Table, commits: set[str]) -> set[str]:
    """The manifests (`<commit>-m<n>.avro`) in the table's metadata folder that `commits` wrote."""
    from pyarrow.fs import FileSelector, FileType
    from pyiceberg.io.pyarrow import PyArrowFileIO

    io = table.io
    if not isinstance(io, PyArrowFileIO):
        return set()
    scheme, netloc, folder = io.parse_location(f"{table.location()}/metadata")
    found = io.fs_by_scheme(scheme, netloc).get_file_info(
        FileSelector(folder, allow_not_found=True)
    )
    return {
        f"{scheme}://{info.path}"
        for info in found
        if info.type == FileType.File
        and info.base_name.endswith(".avro")
        and info.base_name.rsplit("-m", 1)[0] in commits
    }


def _files(table: Table) -> list[str]:
    return [task.file.file_path for task in table.scan().plan_files()]
