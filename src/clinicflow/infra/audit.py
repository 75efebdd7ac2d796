"""The PHI access audit log: append-only and hash-chained, so an edit or deletion shows.

Each row carries the hash of the row before it (the first row links to 64 zeros) and its own
hash over every column but id and hash. `verify` walks the chain in id order and names the
first row where it breaks: an edited row no longer matches its hash; a deleted row leaves an
id gap and a broken link in the row after it.

Limitation: deleting only the newest rows leaves a shorter chain that is still consistent; a
pure chain cannot notice it. Record `VerifyResult.head_hash` outside the database (backup
manifest, ticket) and compare, or ship rows to write-once storage, to cover that.

Retention prunes the oldest rows (`infra.audit_retention`) and records a checkpoint: the last
pruned row's id and hash. `verify` then starts from the newest checkpoint instead of the
genesis. The checkpoint table is not chained itself; record checkpoints outside the database
too, like head hashes, so a forged one (hiding a deleted prefix) shows when compared.

Rows hold ids, never PHI values: who, in what role, did what to which resource, for which
patient id, from where, with what outcome. `append` runs in the caller's transaction, so the
audit row commits or rolls back together with the change it records.

Ids are assigned here as last id + 1 (not by a sequence): a rolled-back PostgreSQL
transaction would otherwise burn a sequence value and leave a gap indistinguishable from a
deleted row. Appends are serialized (advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite),
and the primary key turns any append that slips past that into an error, never a fork.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from clinicflow.infra._audit_chain import (
    GENESIS,
    ChainWalker,
    VerifyResult,
    canonical_at,
    row_hash,
)
from clinicflow.infra.db import Database, UTCDateTime, metadata
from clinicflow.infra.logging import scrub_text

__all__ = ["AuditEntry", "AuditRecord", "VerifyResult", "append", "audit_log", "search", "verify"]

ActorType = Literal["user", "client", "patient", "anonymous", "system"]
Outcome = Literal["allowed", "denied", "error"]
ACTOR_TYPES: tuple[str, ...] = get_args(ActorType)
OUTCOMES: tuple[str, ...] = get_args(Outcome)

# Any constant works as long as every appender uses the same one ("cf-audit" as a bigint).
ADVISORY_LOCK_KEY = int.from_bytes(b"cf-audit", "big")
VERIFY_BATCH = 1000
MAX_SEARCH = 1000


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


audit_log = Table(
    "infra_audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # the chain order
    Column("at", UTCDateTime, nullable=False),
    Column("actor_type", String(16), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("patient_id", String(36), nullable=True),
    Column("source_ip", String(45), nullable=True),  # the longest IPv6 text form
    Column("request_id", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("break_glass", Boolean, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint(_one_of("actor_type", ACTOR_TYPES), name="actor_type"),
    CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
    Index("ix_infra_audit_log_patient_at", "patient_id", "at"),
    Index("ix_infra_audit_log_actor_at", "actor_id", "at"),
)


# Written when retention prunes the oldest rows: verification resumes from the last pruned
# row's id and hash, so a pruned log still proves nothing after the cut was touched.
audit_checkpoints = Table(
    "infra_audit_checkpoint",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("through_id", Integer, nullable=False),
    Column("through_hash", String(64), nullable=False),
    Column("rows_pruned", Integer, nullable=False),
    Column("cutoff", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a caller records: ids only. `reason` is required for break-glass access."""

    actor_type: ActorType
    actor_id: str
    role: str
    action: str
    resource_type: str
    resource_id: str
    outcome: Outcome = "allowed"
    patient_id: str | None = None
    source_ip: str | None = None
    request_id: str | None = None
    reason: str | None = None
    break_glass: bool = False

    def __post_init__(self) -> None:
        if self.actor_type not in ACTOR_TYPES:
            raise ValueError(f"actor_type must be one of {ACTOR_TYPES}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        if self.break_glass and not (self.reason and self.reason.strip()):
            raise ValueError("break-glass access needs a reason")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor_type: str
    actor_id: str
    role: str
    action: str
    resource_type: str
    resource_id: str
    patient_id: str | None
    source_ip: str | None
    request_id: str | None
    outcome: str
    reason: str | None
    break_glass: bool
    prev_hash: str
    hash: str


async def append(conn: AsyncConnection, entry: AuditEntry, now: datetime) -> int:
    """Add one row inside the caller's (write) transaction; returns its id."""
    canonical_at(now)  # refuses a naive time before anything is written
    if conn.dialect.name == "postgresql":
        # Held until the caller's transaction ends, so the next appender sees this row.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    last = (
        await conn.execute(
            select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
        )
    ).first()
    prev_id, prev_hash = (last.id, last.hash) if last is not None else await chain_start(conn)
    values: dict[str, Any] = asdict(entry) | {"at": now, "prev_hash": prev_hash}
    # The one free-text column: keep contact details out of it even if staff type them.
    values["reason"] = scrub_text(entry.reason) if entry.reason is not None else None
    values["hash"] = row_hash(values)
    await conn.execute(insert(audit_log).values(id=prev_id + 1, **values))
    return int(prev_id + 1)


async def chain_start(conn: AsyncConnection) -> tuple[int, str]:
    """Where the chain begins: the newest pruning checkpoint, or the genesis."""
    newest = (
        await conn.execute(
            select(audit_checkpoints.c.through_id, audit_checkpoints.c.through_hash)
            .order_by(audit_checkpoints.c.id.desc())
            .limit(1)
        )
    ).first()
    return (newest.through_id, newest.through_hash) if newest is not None else (0, GENESIS)


async def verify(
    conn: AsyncConnection, *, batch_size: int = VERIFY_BATCH, upto: int | None = None
) -> VerifyResult:
    """Walk the chain in id order, a batch at a time (keyset on id); `upto` stops early.

    Every remaining row is read, those at or before a checkpoint too: a pruned row that
    reappears is reported, not skipped."""
    walker = ChainWalker(*await chain_start(conn))
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
            return walker.result()
        after = batch[-1].id


async def verify_database(url: str) -> VerifyResult:
    """For `clinicflow audit verify`: its own engine, disposed afterwards."""
    db = Database(url)
    try:
        async with db.read() as conn:
            return await verify(conn)
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
