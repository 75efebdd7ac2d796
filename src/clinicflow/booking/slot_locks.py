"""Contenders for a practitioner's day queue on a lock instead of racing the constraint.

On PostgreSQL two writers that insert overlapping rows both pass the application check, and
the exclusion constraint makes the second wait for the first. When the first rolls back, all
its waiters wake together, each already holding its own index entry, and deadlock on one
another. So a writer that is about to place a visit first takes a transaction-scoped
advisory lock per (practitioner, clinic day) its block may touch: contenders wait in line,
and each, in turn, sees the one before it committed and answers `slot_unavailable` without
inserting anything. Bookings of other practitioners or other days do not wait at all.

Waiting is safe only while the transaction holds none of these locks yet (locks are taken
in one global order, so no cycle can form). A transaction that already holds some — a group
commit batch (infra/group_commit.py) after its first member — only tries; when the lock is
taken elsewhere it raises `SlotContended`, and the batch hands that member to a later batch.
SQLite needs none of this: its writers are serialized already (infra/db.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import BigInteger

from clinicflow.infra.db import transaction_state

_HELD = "booking_slot_locks"
_WAIT = select(func.pg_advisory_xact_lock(bindparam("k", type_=BigInteger)))
_TRY = select(func.pg_try_advisory_xact_lock(bindparam("k", type_=BigInteger)))


class SlotContended(Exception):
    """Another transaction is placing a visit in the same practitioner's day right now."""


def lock_keys(
    practitioners: Iterable[str], block: tuple[datetime, datetime], tz: ZoneInfo
) -> list[int]:
    """One key per practitioner per clinic day the block touches (two overlapping blocks
    of one practitioner always share one), in the one order every transaction takes them."""
    lo, hi = (t.astimezone(tz).date() for t in block)
    days = [lo + timedelta(days=n) for n in range((hi - lo).days + 1)]
    return sorted({_key(f"{p}|{day.isoformat()}") for p in practitioners for day in days})


async def queue_for(conn: AsyncConnection, keys: list[int]) -> None:
    """Wait for (or, see the module notes, try) the locks `keys` in this transaction."""
    if conn.dialect.name != "postgresql":
        return
    held: set[int] = transaction_state(conn).setdefault(_HELD, set())
    wanted = [k for k in keys if k not in held]
    if not wanted:
        return
    may_wait = not held
    for key in wanted:
        if may_wait:
            await conn.execute(_WAIT, {"k": key})
        elif not (await conn.execute(_TRY, {"k": key})).scalar_one():
            raise SlotContended
        held.add(key)


def _key(name: str) -> int:
    digest = hashlib.blake2b(f"clinicflow.booking|{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
