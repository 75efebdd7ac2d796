"""Contenders for a practitioner's time queue on a lock instead of racing the constraint.

On PostgreSQL two writers that insert overlapping rows both pass the application check, and
the exclusion constraint makes the second wait for the first. When the first rolls back, all
its waiters wake together, each already holding its own index entry, and deadlock on one
another. So a writer that is about to place a visit first takes a transaction-scoped
advisory lock per (practitioner, quarter hour) its block touches: two blocks that overlap
share an instant, so they share that instant's quarter hour and one of the locks.
Contenders wait in line, and each, in turn, sees the one before it committed and answers
`slot_unavailable` without inserting anything. Bookings of other practitioners or other
times do not wait at all (a day-wide lock made the busy practitioners' distinct bookings
queue behind one another across server processes).

Waiting is safe only while the transaction holds none of these locks yet (locks are taken
in one global order, so no cycle can form). A transaction that already holds some — a group
commit batch (infra/group_commit.py) after its first member — only tries; when the lock is
taken elsewhere it raises `SlotContended`, and the batch hands that member to a later batch.
SQLite needs none of this: its writers are serialized already (infra/db.py). The locks
themselves are taken by the unit of work (`SqlSlotLocks` in booking/repository.py), which
keeps the keys its transaction holds; this module says which keys a block needs.

Within one process, holds first line up on an asyncio lock per key (`LocalLine`): a
contender waits there without holding one of the pool's database connections.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime

from clinicflow.shared.minutes import to_minute

_QUARTER = 15  # minutes a lock covers


class LocalLine:
    """This process's line per key, in front of the database's."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @asynccontextmanager
    async def turn(self, keys: list[int]) -> AsyncIterator[None]:
        """Holding every key's lock (taken in sorted order, like the database's)."""
        got: list[asyncio.Lock] = []
        for key in keys:
            self._users[key] = self._users.get(key, 0) + 1
        try:
            for key in sorted(keys):
                lock = self._locks.setdefault(key, asyncio.Lock())
                await lock.acquire()
                got.append(lock)
            yield
        finally:
            for lock in reversed(got):
                lock.release()
            for key in keys:
                self._users[key] -= 1
                if not self._users[key]:  # nobody else in line: forget the key
                    del self._users[key]
                    self._locks.pop(key, None)


def lock_keys(practitioners: Iterable[str], block: tuple[datetime, datetime]) -> list[int]:
    """One key per practitioner per quarter hour the block [start, end) touches, in the one
    order every transaction takes them."""
    first = to_minute(block[0]) // _QUARTER
    last = (to_minute(block[1]) - 1) // _QUARTER
    quarters = range(first, max(first, last) + 1)
    return sorted({_key(f"{p}|{q}") for p in practitioners for q in quarters})


def _key(name: str) -> int:
    digest = hashlib.blake2b(f"clinicflow.booking|{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
