"""Opening the key ring at start-up, refusing when it cannot open the data already stored.

A missing key file is never silently replaced while the database holds sealed values or
audit rows: a fresh ring would answer 500 for every existing patient, miss them in email
searches (so bookings create duplicates), and seal new data under a key the right file
lacks. A ring is created only on first set-up: an empty (or not yet migrated) database, or
`clinicflow keys init`. A ring that lacks a key some sealed value names is refused too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import structlog
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.audit_tables import audit_log
from clinicflow.infra.crypto import KeyRingError, KeysUnavailable, create
from clinicflow.infra.db import Database
from clinicflow.infra.live_keys import LiveKeyRing
from clinicflow.infra.rekey import count_by_key
from clinicflow.sealed import SEALED

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StoredData:
    """What the database holds that only the right key ring can open or verify."""

    sealed: dict[str, int]  # sealed values per key id ("" for malformed values)
    audit_rows: int

    @property
    def empty(self) -> bool:
        return not any(self.sealed.values()) and not self.audit_rows


def open_keys(database_url: str, path: Path) -> LiveKeyRing:
    """The key ring for a process that reads or writes sealed data; raises KeysUnavailable."""
    if not path.exists():
        stored = _blocking(stored_data(database_url))  # unreachable: refused, nothing made
        if not stored.empty:
            raise KeysUnavailable(_missing_file(path, stored))
        try:
            create(path)  # first set-up: nothing is sealed yet
        except KeyRingError:
            if not path.exists():
                raise
            # Another process setting up at the same moment made it first: open theirs.
            log.info("key_file_made_concurrently", key_file=str(path))
    ring = _open(path)
    try:
        stored = _blocking(stored_data(database_url))
    except KeysUnavailable as exc:
        # A process starts alive but not ready while its database is down (/readyz); its
        # ring is the file's, and a value under a key it lacks still fails to open.
        log.warning("key_check_skipped", reason=str(exc), key_file=str(path))
        return ring
    lacking = sorted(k for k in stored.sealed if k and k not in ring.keys)
    if lacking:
        needed = sum(stored.sealed[k] for k in lacking)
        raise KeysUnavailable(
            f"the key file {path} lacks key(s) {', '.join(lacking)}, which {needed} sealed "
            f"values in the database need (it holds {', '.join(sorted(ring.keys))}): restore "
            "the key file that has them (CLINICFLOW_KEYS_FILE); refusing to start"
        )
    return ring


def _open(path: Path) -> LiveKeyRing:
    try:
        return LiveKeyRing(path)
    except (OSError, KeyRingError) as exc:
        # One line naming the file, like every other refusal, not a traceback.
        raise KeysUnavailable(
            f"the key file {path} cannot be read ({_reason(exc)}): restore it from its backup "
            "(CLINICFLOW_KEYS_FILE); refusing to start"
        ) from exc


def _reason(exc: Exception) -> str:
    return exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else str(exc)


def init_keys(database_url: str, path: Path) -> LiveKeyRing:
    """`clinicflow keys init`: a new ring, refused over a file or over data it cannot open."""
    if path.exists():
        raise KeysUnavailable(f"{path} already exists; a key file is never replaced")
    stored = _blocking(stored_data(database_url))
    if not stored.empty:
        raise KeysUnavailable(_missing_file(path, stored))
    create(path)
    return LiveKeyRing(path)


def _missing_file(path: Path, stored: StoredData) -> str:
    ids = ", ".join(sorted(k for k in stored.sealed if k)) or "none"
    total = sum(stored.sealed.values())
    return (
        f"the key file {path} is missing, but the database holds {total} sealed values "
        f"(key ids: {ids}) and {stored.audit_rows} audit rows: restore that key file "
        "(CLINICFLOW_KEYS_FILE) from its backup. A new key ring would make them unreadable, "
        "so none is made; refusing to start"
    )


async def stored_data(database_url: str) -> StoredData:
    db = Database(database_url)
    try:
        async with db.read() as conn:
            present = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            audit_rows = await _audit_rows(conn) if audit_log.name in present else 0
        migrated = [s for s in SEALED if s.table.name in present]
        sealed = await count_by_key(db, migrated) if migrated else {}
        return StoredData(sealed, audit_rows)
    except (SQLAlchemyError, OSError) as exc:  # asyncpg refuses a connection with OSError
        # Unknown is not empty: without knowing, no key file may be made.
        raise KeysUnavailable(
            f"cannot check the database for sealed data ({type(exc).__name__}); "
            "is it reachable and migrated?"
        ) from exc
    finally:
        await db.dispose()


async def _audit_rows(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(audit_log))).scalar_one())


def _blocking(work: Coroutine[Any, Any, T]) -> T:
    # The composition root is synchronous and may run inside an event loop (tests, the app
    # factory): the check gets a loop of its own on a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()
