"""The PHI access audit log: append-only and hash-chained, so an edit or deletion shows.

Each row carries the hash of the row before it (the first row links to 64 zeros) and its own
HMAC-SHA256, under a key from the key ring, over its id and every other column. `verify`
walks the chain in id order and names the first row where it breaks: an edited row no longer
matches its hash; a deleted row leaves an id gap and a broken link in the row after it; a
row re-hashed or appended without the key does not verify at all.

A chain alone cannot notice its newest rows cut off. Checkpoints of the head (id and hash,
HMACed) are therefore written outside the database (`infra.audit_anchor`: a file by default,
every minute by the `audit_checkpoint` job, and by `clinicflow audit head`), and `verify`
compares them, and `--expect-head N:HASH`, with the chain.

Retention prunes the oldest rows (`infra.audit_retention`) and records a signed checkpoint
(the last pruned row's id and hash, HMACed, and also written outside the database); `verify`
starts from the newest checkpoint whose signature holds, and names any other.

Rows hold ids, never PHI values: who, in what role, did what to which resource, for which
patient id, from where, with what outcome.

Appending and sealing are two steps. `uow.audit` (`append_to`) writes the entry to
`infra_audit_pending` in the caller's unit of work, so it commits or rolls back together with
the change it records, and takes no lock: concurrent writers never wait for each other here.
Right after the commit (`uow.after_commit`, before the caller's answer leaves) `seal` moves the
committed entries into the chain: under one lock (an advisory lock on PostgreSQL; SQLite has
one writer) it reads the chain's head, gives each entry the next id (last id + 1, never a
sequence: a rolled-back transaction would burn a value and leave a gap that reads as a
deletion) and its hashes, inserts them and deletes them from the pending table, many at a time.
Sealers in one process share runs (`Sealer`); across processes the lock orders them. An entry
whose process died between its commit and its seal is sealed by the next seal anywhere, and by
the `audit_seal` job; until then `verify` counts it as pending. While pending (milliseconds) an
entry is not yet protected by the chain.

Before this split every append held the chain's lock until its transaction committed, which
serialized every write in the clinic behind one lock (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, text, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from clinicflow.infra._audit_chain import (
    ChainWalker,
    VerifyResult,
    canonical_at,
    mac_matches,
    pending_mac,
    row_mac,
)
from clinicflow.infra._audit_state import checked_state, entry_fields, read_state
from clinicflow.infra.audit_records import AuditEntry, AuditRecord
from clinicflow.infra.audit_tables import (
    ACTOR_TYPES,
    OUTCOMES,
    ActorType,
    Outcome,
    audit_checkpoints,
    audit_log,
    audit_pending,
)
from clinicflow.infra.db import Database
from clinicflow.infra.logging import get_logger, scrub_text
from clinicflow.infra.unit_of_work import UnitOfWork

log = get_logger(__name__)

__all__ = [
    "ACTOR_TYPES",
    "OUTCOMES",
    "ActorType",
    "AuditEntry",
    "AuditRecord",
    "Outcome",
    "VerifyResult",
    "append_to",
    "audit_checkpoints",
    "audit_log",
    "audit_pending",
    "chain_key",
    "seal",
    "search",
    "use_key",
    "verify",
]

# Any constant works as long as every sealer uses the same one ("cf-audit" as a bigint).
ADVISORY_LOCK_KEY = int.from_bytes(b"cf-audit", "big")
VERIFY_BATCH = 1000
SEAL_BATCH = 500
MAX_SEARCH = 1000


_SEAL = "clinicflow_audit_seal"


class AuditKeyMissing(RuntimeError):
    """A database's audit chain was used before its key was given (`use_key`)."""


# The chain's HMAC key per engine (bootstrap gives it; `audit verify` loads the key file):
# sealing runs after commits, far from where the key ring is built.
_chain_keys: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


def use_key(db: Database, key: bytes) -> None:
    """Seal and verify this database's chain under `key` (`KeyRing.audit_key`)."""
    _chain_keys[db.engine.sync_engine] = key


def chain_key(conn: AsyncConnection) -> bytes:
    found = _chain_keys.get(conn.sync_engine)
    if found is None:
        raise AuditKeyMissing(
            "no audit chain key for this database; the key ring gives it (bootstrap calls "
            "audit.use_key)"
        )
    return found


def append_to(uow: UnitOfWork, entry: AuditEntry, now: datetime) -> None:
    """Record one entry in the unit of work's (write) transaction; it is sealed into the
    chain right after that transaction commits (`uow.audit` calls this)."""
    canonical_at(now)  # refuses a naive time before anything is written
    values: dict[str, Any] = asdict(entry) | {"at": now}
    # The one free-text column: keep contact details out of it even if staff type them.
    values["reason"] = scrub_text(entry.reason) if entry.reason is not None else None
    # Signed here, checked by the sealer: a row inserted into the pending table by hand is
    # never chained (with a valid HMAC) as if the application had written it.
    values["mac"] = pending_mac(chain_key(uow.connection), values)
    uow.buffer_row(audit_pending, values)  # inserted as the transaction commits
    uow.after_commit(_SEAL, seal)


async def seal(db: Database) -> int:
    """Seal every committed pending entry into the chain; how many this call sealed (0 when
    a concurrent run in this process sealed them)."""
    return await _sealer_of(db).run(db)


# Built once (sealing follows every write): the pending entries, oldest first, each with the
# chain's head beside it (one round trip); the chained rows; the entries just chained.
_HEAD = select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
_HEAD_ROW = _HEAD.subquery("head")
_PENDING = (
    select(audit_pending, _HEAD_ROW.c.id.label("head_id"), _HEAD_ROW.c.hash.label("head_hash"))
    .join(_HEAD_ROW, true(), isouter=True)
    .where(audit_pending.c.id.not_in(bindparam("q_skip", expanding=True)))
    .order_by(audit_pending.c.id)
    .limit(SEAL_BATCH)
)
# Per engine: the pending ids found forged (left in place as evidence, skipped by later
# seals; `verify` reports them). Entries predating signing wait for `_audit_state.adopt`.
_forged: weakref.WeakKeyDictionary[Engine, set[int]] = weakref.WeakKeyDictionary()
_CHAIN = insert(audit_log)
_DONE = delete(audit_pending).where(audit_pending.c.id.in_(bindparam("q_ids", expanding=True)))


async def seal_batch(conn: AsyncConnection) -> int:
    """Chain up to SEAL_BATCH pending entries, oldest first, in the caller's write
    transaction; how many it took up (forged ones are left in place, quarantined, and
    counted: a full batch means more may wait)."""
    key = chain_key(conn)  # before the lock: without a key nothing is chained
    if conn.dialect.name == "postgresql":
        # Held until this transaction ends, so the next sealer starts from this one's head.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    forged = _forged.setdefault(conn.sync_engine, set())
    pending = (await conn.execute(_PENDING, {"q_skip": sorted(forged)})).all()
    if not pending:
        return 0
    first = pending[0]
    prev_id, prev_hash = (
        (first.head_id, first.head_hash) if first.head_id is not None else await chain_start(conn)
    )
    chained, done, waiting = [], [], 0
    for row in pending:
        values = entry_fields(row)
        if row.predates_signing and row.mac is None:
            waiting += 1  # older than signing: waits for `audit_anchor.adopt_once` to sign it
            continue
        if not mac_matches(pending_mac(key, values), row.mac):
            log.error("audit_pending_forged", pending_id=row.id)
            forged.add(row.id)
            continue
        values["prev_hash"] = prev_hash
        prev_id += 1
        values["hash"] = prev_hash = row_mac(key, prev_id, values)
        chained.append(values | {"id": prev_id})
        done.append(row.id)
    if chained:
        await conn.execute(_CHAIN, chained)
        # Exactly these: an id below the last one may belong to an entry committed since the
        # select above (ids are taken at insert, not at commit), which must wait its seal.
        await conn.execute(_DONE, {"q_ids": done})
    return len(pending) - waiting


class Sealer:
    """Shares seal runs within a process: whoever asks while a run is under way waits for
    the next run, which seals everything committed up to its start, theirs included."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._asked = 0
        self._done = 0

    async def run(self, db: Database) -> int:
        self._asked += 1
        ticket = self._asked
        async with self._lock:
            if self._done >= ticket:
                return 0
            upto, sealed = self._asked, 0
            while True:
                async with UnitOfWork(db) as uow:
                    count = await seal_batch(uow.connection)
                    await uow.commit()
                sealed += count
                if count < SEAL_BATCH:
                    break
            self._done = upto
            return sealed


_sealers: weakref.WeakKeyDictionary[Database, Sealer] = weakref.WeakKeyDictionary()


def _sealer_of(db: Database) -> Sealer:
    found = _sealers.get(db)
    if found is None:
        found = _sealers[db] = Sealer()
    return found


async def pending_count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(audit_pending))).scalar_one())


async def chain_start(conn: AsyncConnection) -> tuple[int, str]:
    """Where the chain begins: the newest genuine (signed) pruning checkpoint, or the
    genesis."""
    state = await read_state(conn, chain_key(conn))
    return state.start_id, state.start_hash


async def keyed_from(conn: AsyncConnection) -> int | None:
    """The first id chained with HMAC (older rows keep plain hashes, migration 0015c); None
    when its signature does not check."""
    state = await read_state(conn, chain_key(conn))
    return state.keyed_from if state.keyed_from_signed else None


async def verify(
    conn: AsyncConnection,
    *,
    batch_size: int = VERIFY_BATCH,
    upto: int | None = None,
    anchors: Mapping[int, str] | None = None,
    recorded_keyed_from: Collection[int] = (),
) -> VerifyResult:
    """Walk the chain in id order, a batch at a time (keyset on id); `upto` stops early.

    Every remaining row is read, those at or before a checkpoint too: a pruned row that
    reappears is reported, not skipped. `anchors` (row id -> hash, recorded outside the
    database) must match the rows they name, and none may lie beyond the last row;
    `recorded_keyed_from` (from the same checkpoints) must match `keyed_from`. The chain's
    signed state and the waiting entries are checked too (`infra._audit_state`)."""
    key = chain_key(conn)
    state = await checked_state(conn, key, recorded_keyed_from)
    if state.problems:
        return VerifyResult(False, 0, None, "; ".join(state.problems))
    walker = ChainWalker(
        key,
        state.start_id,
        state.start_hash,
        keyed_from=state.keyed_from,
        anchors=anchors,
    )
    last = audit_log.c.id <= upto if upto is not None else true()
    after = 0
    while True:
        batch = (
            await conn.execute(
                select(audit_log)
                .where(audit_log.c.id > after, last)
                .order_by(audit_log.c.id)
                .limit(batch_size)
            )
        ).all()
        for row in batch:
            if not walker.feed(row._asdict()):
                return walker.result()
        if len(batch) < batch_size:
            done = walker.result() if upto is not None else walker.finish()
            return replace(done, pending=await pending_count(conn))
        after = batch[-1].id


async def verify_database(
    url: str,
    key: bytes,
    anchors: Mapping[int, str] | None = None,
    recorded_keyed_from: Collection[int] = (),
) -> VerifyResult:
    """For `clinicflow audit verify`: its own engine, disposed afterwards."""
    db = Database(url)
    use_key(db, key)
    try:
        async with db.read() as conn:
            return await verify(conn, anchors=anchors, recorded_keyed_from=recorded_keyed_from)
    finally:
        await db.dispose()


async def search(
    conn: AsyncConnection,
    *,
    patient_id: str | None = None,
    actor_id: str | None = None,
    resource_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    break_glass: bool | None = None,
    outcome: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Newest first; `since` inclusive, `until` exclusive; `before_id` pages backwards."""
    c = audit_log.c
    # Comparisons are built only for the filters given: `at >= None` is not valid SQL.
    wanted: list[tuple[object, Callable[[], ColumnElement[bool]]]] = [
        (patient_id, lambda: c.patient_id == patient_id),
        (actor_id, lambda: c.actor_id == actor_id),
        (resource_type, lambda: c.resource_type == resource_type),
        (since, lambda: c.at >= since),
        (until, lambda: c.at < until),
        (break_glass, lambda: c.break_glass == break_glass),
        (outcome, lambda: c.outcome == outcome),
        (before_id, lambda: c.id < before_id),
    ]
    query = (
        select(audit_log)
        .where(*(build() for value, build in wanted if value is not None))
        .order_by(c.id.desc())
        .limit(max(1, min(limit, MAX_SEARCH)))
    )
    rows = (await conn.execute(query)).all()
    # AuditRecord mirrors the table's columns one for one.
    return [AuditRecord(**row._asdict()) for row in rows]
