"""Key rotation: re-encrypt every sealed column under the active key, retire keys nothing uses.

Resealing also binds values written before row binding to their row (`infra.crypto`), so
`keys reseal` is the migration path for older data.

Which columns are sealed, and with what associated data, is the contexts' knowledge; this
module works over any list of `SealedColumns` (`clinicflow.sealed.SEALED` lists them all).
Every function takes that list, so a key is only retired once no registered column uses it.

Re-encryption runs in batches, each its own short write transaction, paginated by each
table's key column and restricted to rows holding a value under another key. So it never
holds one long transaction, and a run that stops halfway resumes by running again: finished
rows no longer match. Each update is a compare-and-set on the ciphertexts it read, so a
value the application rewrote meanwhile is kept, never overwritten with the older plaintext.

With servers running, the order is: rotate (saves the new key, then reseals), reseal once
more to catch values a process sealed under the previous key while the rotation ran, then
retire. Running processes follow the key file (`LiveKeyRing`): each looks at the file before
sealing and when a value names a key it does not know, so no restart is needed and no
request fails. `retire` counts the database, so it refuses while anything still uses the key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.crypto import (
    BOUND_MARK,
    DecryptionError,
    KeyRing,
    key_file_lock,
    load,
    save,
)
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.shared.errors import Conflict


class KeyStillInUse(Conflict, code="key_in_use"): ...


@dataclass(frozen=True, slots=True)
class SealedColumns:
    """Columns of one table sealed with the key ring, and the associated data of each."""

    table: Table
    key_column: str  # a unique, orderable column (the primary key): batches page by it
    columns: tuple[str, ...]
    context: Callable[[str], str]  # column name -> the context its values are sealed with
    # The unique column whose value each row's values are bound to (default: key_column).
    row_column: str | None = None

    @property
    def bound_to(self) -> str:
        return self.row_column or self.key_column

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError(f"{self.table.name}: no sealed columns given")
        wanted = (self.key_column, self.bound_to, *self.columns)
        missing = [c for c in wanted if c not in self.table.c]
        if missing:
            raise ValueError(f"{self.table.name} has no column(s) {', '.join(missing)}")


@dataclass(frozen=True, slots=True)
class ResealReport:
    batches: int = 0  # pages that held rows to reseal, each its own transaction
    rows_resealed: int = 0
    values_resealed: int = 0
    # Rows the application changed between our read and our write; running again picks
    # them up if they are still under an old key.
    rows_changed_meanwhile: int = 0
    # (table, row key, column) whose value did not decrypt; left untouched, and counted
    # under its key id, so that key cannot be retired until someone looks.
    undecryptable: tuple[tuple[str, str, str], ...] = ()
    # Values re-encrypted per table; tables with none are left out.
    values_by_table: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RotationReport:
    previous_key: str
    active_key: str
    reseal: ResealReport
    counts: dict[str, int]  # ciphertexts per key id after resealing


@dataclass(frozen=True, slots=True)
class KeyStatus:
    active_key: str
    key_ids: tuple[str, ...]
    counts: dict[str, int]  # "" counts values with no key id at all (malformed)
    unbound: int = 0  # values sealed before row binding: `keys reseal` binds them


@dataclass(slots=True)
class _Tally:
    batches: int = 0
    rows: int = 0
    values: int = 0
    changed: int = 0
    undecryptable: list[tuple[str, str, str]] = field(default_factory=list)
    by_table: dict[str, int] = field(default_factory=dict)

    def report(self) -> ResealReport:
        return ResealReport(
            self.batches,
            self.rows,
            self.values,
            self.changed,
            tuple(self.undecryptable),
            dict(self.by_table),
        )


async def reseal_all(
    db: Database,
    sealed: Sequence[SealedColumns],
    keys: KeyRing,
    batch: int = 500,
    on_batch: Callable[[ResealReport], None] | None = None,
) -> ResealReport:
    """Re-encrypt every sealed value, in every table given, under a key other than the active."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    tally = _Tally()
    for table in sealed:
        after: Any = None
        while True:
            async with UnitOfWork(db) as uow:
                conn = uow.connection
                rows = await _stale_rows(conn, table, keys.active, after, batch)
                for row in rows:
                    await _reseal_row(conn, keys, table, row, tally)
                await uow.commit()
            if rows:
                tally.batches += 1
                if on_batch is not None:
                    on_batch(tally.report())
            if len(rows) < batch:
                break
            after = rows[-1]._mapping[table.key_column]
    return tally.report()


async def _stale_rows(
    conn: AsyncConnection, sealed: SealedColumns, active: str, after: Any, batch: int
) -> Sequence[Row[Any]]:
    """The next page of rows (key column above `after`, None for the first page) holding a
    value under a key other than `active`, or not yet bound to its row."""
    table, key = sealed.table, sealed.table.c[sealed.key_column]
    # substr comparison rather than LIKE: SQLite's LIKE ignores case, and a missed row here
    # would be a row silently left under a key about to be retired.
    prefix = f"{active}:{BOUND_MARK}"
    stale = or_(
        *(
            and_(table.c[c].is_not(None), func.substr(table.c[c], 1, len(prefix)) != prefix)
            for c in sealed.columns
        )
    )
    bound = [table.c[sealed.bound_to]] if sealed.bound_to != sealed.key_column else []
    query = select(key, *bound, *(table.c[c] for c in sealed.columns)).where(stale)
    if after is not None:
        query = query.where(key > after)
    return (await conn.execute(query.order_by(key).limit(batch))).all()


async def _reseal_row(
    conn: AsyncConnection, keys: KeyRing, sealed: SealedColumns, row: Row[Any], tally: _Tally
) -> None:
    table, values = sealed.table, row._mapping
    key_value = values[sealed.key_column]
    bound_to = str(values[sealed.bound_to])
    resealed: dict[str, str] = {}
    for column in sealed.columns:
        token = values[column]
        try:
            if token is not None and keys.needs_reseal(token):
                resealed[column] = keys.reseal(token, context=sealed.context(column), row=bound_to)
        except DecryptionError:
            tally.undecryptable.append((table.name, str(key_value), column))
    if not resealed:
        return
    unchanged = [table.c[c] == values[c] for c in resealed]
    result = await conn.execute(
        update(table).where(table.c[sealed.key_column] == key_value, *unchanged).values(**resealed)
    )
    if result.rowcount == 1:
        tally.rows += 1
        tally.values += len(resealed)
        tally.by_table[table.name] = tally.by_table.get(table.name, 0) + len(resealed)
    else:
        tally.changed += 1


async def count_by_key(db: Database, sealed: Sequence[SealedColumns]) -> dict[str, int]:
    """How many ciphertexts, across every column given, each key id seals: a key may be
    retired at zero."""
    totals: dict[str, int] = {}
    for (_, key_id), n in (await _count_by_table_and_key(db, sealed)).items():
        totals[key_id] = totals.get(key_id, 0) + n
    return totals


async def _count_by_table_and_key(
    db: Database, sealed: Sequence[SealedColumns]
) -> dict[tuple[str, str], int]:
    async with db.read() as conn:
        key_id = _key_id_expr(conn.dialect.name)
        parts = [
            select(
                literal(s.table.name).label("table_name"), key_id(s.table.c[c]).label("key_id")
            ).where(s.table.c[c].is_not(None))
            for s in sealed
            for c in s.columns
        ]
        if not parts:
            return {}
        values = union_all(*parts).subquery()
        query = select(values.c.table_name, values.c.key_id, func.count()).group_by(
            values.c.table_name, values.c.key_id
        )
        return {(str(t), str(k)): int(n) for t, k, n in (await conn.execute(query)).all()}


def _key_id_expr(dialect: str) -> Callable[[Any], ColumnElement[Any]]:
    # The text before the first ":"; SQLite spells the search instr, PostgreSQL strpos.
    def key_id(column: Any) -> ColumnElement[Any]:
        pos = func.instr(column, ":") if dialect == "sqlite" else func.strpos(column, ":")
        return case((pos > 1, func.substr(column, 1, pos - 1)), else_=literal(""))

    return key_id


async def key_status(db: Database, sealed: Sequence[SealedColumns], keys: KeyRing) -> KeyStatus:
    counts = await count_by_key(db, sealed)
    return KeyStatus(keys.active, tuple(keys.keys), counts, await count_unbound(db, sealed))


async def count_unbound(db: Database, sealed: Sequence[SealedColumns]) -> int:
    """Values sealed before row binding (`<key id>:<base64>`, no row in their associated data)."""
    total = 0
    async with db.read() as conn:
        find = "instr" if conn.dialect.name == "sqlite" else "strpos"
        for s in sealed:
            for c in s.columns:
                column = s.table.c[c]
                after_id = getattr(func, find)(column, ":") + 1
                mark = func.substr(column, after_id, len(BOUND_MARK))
                query = select(func.count()).where(column.is_not(None), mark != BOUND_MARK)
                total += int((await conn.execute(query)).scalar_one())
    return total


def add_key(key_file: Path) -> str:
    """Stage a new key in the key file (opening, not sealing); its id."""
    with key_file_lock(key_file):
        ring = load(key_file)
        staged = ring.with_new_key()
        save(key_file, staged)
    (added,) = set(staged.keys) - set(ring.keys)
    return added


async def rotate(
    db: Database,
    sealed: Sequence[SealedColumns],
    key_file: Path,
    batch: int = 500,
    activate: str | None = None,
) -> RotationReport:
    """Make a new key active (a fresh one, or the staged `activate`) in the key file, then
    re-encrypt everything under it."""
    with key_file_lock(key_file):
        ring = load(key_file)
        rotated = ring.activate(activate) if activate else ring.with_new_active_key()
        # Saved before anything is sealed with it: if the reseal stops halfway, every value
        # is under a key the file holds, and `reseal` (or another rotate) finishes the job.
        save(key_file, rotated)
        report = await reseal_all(db, sealed, rotated, batch)
    counts = await count_by_key(db, sealed)
    return RotationReport(ring.active, rotated.active, report, counts)


async def reseal(
    db: Database,
    sealed: Sequence[SealedColumns],
    key_file: Path,
    batch: int = 500,
    on_batch: Callable[[ResealReport], None] | None = None,
) -> ResealReport:
    """Finish or repeat a re-encryption with the key file as it is, adding no key."""
    with key_file_lock(key_file):
        return await reseal_all(db, sealed, load(key_file), batch, on_batch)


async def retire(
    db: Database, sealed: Sequence[SealedColumns], key_file: Path, key_id: str
) -> KeyRing:
    """Remove a key from the key file, refused while any ciphertext still names it."""
    with key_file_lock(key_file):
        ring = load(key_file)
        remaining = ring.retire(key_id)  # unknown or active keys are refused before any I/O
        counts = await _count_by_table_and_key(db, sealed)
        by_table = {t: n for (t, k), n in sorted(counts.items()) if k == key_id}
        in_use = sum(by_table.values())
        if in_use:
            where = ", ".join(f"{t}: {n}" for t, n in by_table.items())
            raise KeyStillInUse(
                f"{in_use} encrypted values still use key {key_id!r} ({where}); run "
                "`clinicflow keys rotate` (or reseal) until none do, then retire it",
                key_id=key_id,
                in_use=in_use,
                tables=by_table,
            )
        save(key_file, remaining)
    return remaining
