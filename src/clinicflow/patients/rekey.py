"""Key rotation for patient PHI: re-encrypt under the active key, retire keys nothing uses.

Re-encryption runs in batches, each its own short write transaction, paginated by id and
restricted to rows holding a value under another key. So it never holds one long
transaction, and a run that stops halfway resumes by running again: finished rows no longer
match. Each update is a compare-and-set on the ciphertexts it read, so a value the
application rewrote meanwhile is kept, never overwritten with the older plaintext.

With servers running, the order is: rotate (saves the new key, then reseals), restart every
process so it reads the new ring, reseal once more to catch rows that old processes sealed
under the previous key meanwhile, then retire. `retire` counts the database, so it refuses
while anything still uses the key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, func, literal, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.crypto import DecryptionError, KeyRing, key_file_lock, load, save
from clinicflow.infra.db import Database
from clinicflow.patients.tables import PHI_COLUMNS, patients, seal_context
from clinicflow.shared.errors import Conflict


class KeyStillInUse(Conflict):
    code = "key_in_use"


@dataclass(frozen=True, slots=True)
class ResealReport:
    batches: int = 0
    rows_resealed: int = 0
    values_resealed: int = 0
    # Rows the application changed between our read and our write; running again picks
    # them up if they are still under an old key.
    rows_changed_meanwhile: int = 0
    # (patient id, column) whose value did not decrypt; left untouched, and counted under
    # its key id, so that key cannot be retired until someone looks.
    undecryptable: tuple[tuple[str, str], ...] = ()


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


@dataclass(slots=True)
class _Tally:
    batches: int = 0
    rows: int = 0
    values: int = 0
    changed: int = 0
    undecryptable: list[tuple[str, str]] = field(default_factory=list)

    def report(self) -> ResealReport:
        return ResealReport(
            self.batches, self.rows, self.values, self.changed, tuple(self.undecryptable)
        )


async def reseal_all(
    db: Database,
    keys: KeyRing,
    batch: int = 500,
    on_batch: Callable[[ResealReport], None] | None = None,
) -> ResealReport:
    """Re-encrypt every PHI value sealed under a key other than the active one."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    tally = _Tally()
    after = ""
    while True:
        async with db.write() as conn:
            rows = await _stale_rows(conn, keys.active, after, batch)
            for row in rows:
                await _reseal_row(conn, keys, row, tally)
        tally.batches += 1
        if on_batch is not None:
            on_batch(tally.report())
        if len(rows) < batch:
            return tally.report()
        after = str(rows[-1].id)


async def _stale_rows(
    conn: AsyncConnection, active: str, after: str, batch: int
) -> Sequence[Row[Any]]:
    # substr comparison rather than LIKE: SQLite's LIKE ignores case, and a missed row here
    # would be a row silently left under a key about to be retired.
    prefix = f"{active}:"
    stale = or_(
        *(
            and_(patients.c[c].is_not(None), func.substr(patients.c[c], 1, len(prefix)) != prefix)
            for c in PHI_COLUMNS
        )
    )
    query = (
        select(patients.c.id, *(patients.c[c] for c in PHI_COLUMNS))
        .where(patients.c.id > after, stale)
        .order_by(patients.c.id)
        .limit(batch)
    )
    return (await conn.execute(query)).all()


async def _reseal_row(conn: AsyncConnection, keys: KeyRing, row: Row[Any], tally: _Tally) -> None:
    values = row._mapping
    patient_id = str(values["id"])
    resealed: dict[str, str] = {}
    for column in PHI_COLUMNS:
        token = values[column]
        try:
            if token is not None and keys.needs_reseal(token):
                resealed[column] = keys.reseal(token, context=seal_context(column))
        except DecryptionError:
            tally.undecryptable.append((patient_id, column))
    if not resealed:
        return
    unchanged = [patients.c[c] == values[c] for c in resealed]
    result = await conn.execute(
        update(patients).where(patients.c.id == patient_id, *unchanged).values(**resealed)
    )
    if result.rowcount == 1:
        tally.rows += 1
        tally.values += len(resealed)
    else:
        tally.changed += 1


async def count_by_key(db: Database) -> dict[str, int]:
    """How many PHI ciphertexts each key id seals: a key may be retired at zero."""
    async with db.read() as conn:
        key_id = _key_id_expr(conn.dialect.name)
        parts = [
            select(key_id(patients.c[c]).label("key_id")).where(patients.c[c].is_not(None))
            for c in PHI_COLUMNS
        ]
        sealed = union_all(*parts).subquery()
        query = select(sealed.c.key_id, func.count()).group_by(sealed.c.key_id)
        return {str(k): int(n) for k, n in (await conn.execute(query)).all()}


def _key_id_expr(dialect: str) -> Callable[[Any], ColumnElement[Any]]:
    # The text before the first ":"; SQLite spells the search instr, PostgreSQL strpos.
    def key_id(column: Any) -> ColumnElement[Any]:
        pos = func.instr(column, ":") if dialect == "sqlite" else func.strpos(column, ":")
        return case((pos > 1, func.substr(column, 1, pos - 1)), else_=literal(""))

    return key_id


async def key_status(db: Database, keys: KeyRing) -> KeyStatus:
    return KeyStatus(keys.active, tuple(keys.keys), await count_by_key(db))


async def rotate(db: Database, key_file: Path, batch: int = 500) -> RotationReport:
    """Add a new active key to the key file, then re-encrypt everything under it."""
    with key_file_lock(key_file):
        ring = load(key_file)
        rotated = ring.with_new_active_key()
        # Saved before anything is sealed with it: if the reseal stops halfway, every value
        # is under a key the file holds, and `reseal` (or another rotate) finishes the job.
        save(key_file, rotated)
        report = await reseal_all(db, rotated, batch)
    counts = await count_by_key(db)
    return RotationReport(ring.active, rotated.active, report, counts)


async def reseal(db: Database, key_file: Path, batch: int = 500) -> ResealReport:
    """Finish or repeat a re-encryption with the key file as it is, adding no key."""
    with key_file_lock(key_file):
        return await reseal_all(db, load(key_file), batch)


async def retire(db: Database, key_file: Path, key_id: str) -> KeyRing:
    """Remove a key from the key file, refused while any ciphertext still names it."""
    with key_file_lock(key_file):
        ring = load(key_file)
        remaining = ring.retire(key_id)  # unknown or active keys are refused before any I/O
        in_use = (await count_by_key(db)).get(key_id, 0)
        if in_use:
            raise KeyStillInUse(
                f"{in_use} encrypted values still use key {key_id!r}; run `clinicflow keys "
                "rotate` (or reseal) until none do, then retire it",
                key_id=key_id,
                in_use=in_use,
            )
        save(key_file, remaining)
    return remaining
