"""Launched services: a service the catalog lists as not active yet (counseling, equine
therapy) becomes live when an administrator launches it.

The catalog is static configuration read at start, while a launch happens at run time and
every replica must agree on it, so a launch is a row in `catalog_service_launch`. The catalog
owns it, so every context (booking, payments, waitlist, notifications, the pages) reads the
one truth through the same overlay (`LaunchState.catalog`): a launched service reads as
active and `launched`. The set of launched services is cached per process and re-read at
most once per `ttl` (a launch in this process invalidates it at once); a use case that
depends on it calls `refresh()` first, so the availability hot path costs no query per slot
and at most one tiny query per `ttl`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import Column, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog.domain import Catalog, Service
from clinicflow.infra.db import Database, UTCDateTime, insert_ignoring_duplicates, metadata

launches = Table(
    "catalog_service_launch",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("launched_at", UTCDateTime, nullable=False),
    Column("launched_by", String(64), nullable=False),  # the actor id, for the record
)


async def launched_services(conn: AsyncConnection) -> frozenset[str]:
    return frozenset(str(k) for k in (await conn.execute(select(launches.c.service))).scalars())


async def record_launch(conn: AsyncConnection, service: str, at: datetime, by: str) -> bool:
    """Whether this call launched it: False when it had been launched before."""
    row = {"service": service, "launched_at": at, "launched_by": by[:64]}
    return await insert_ignoring_duplicates(conn, launches, [row]) == 1


class LaunchState:
    """This process's view of which services are launched, re-read at most once per `ttl`."""

    def __init__(
        self,
        db: Database,
        ttl_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._read_at: float | None = None
        self.launched: frozenset[str] = frozenset()

    async def refresh(self) -> None:
        """Re-read the launched set when the cached one is older than `ttl` (or invalidated)."""
        now = self._monotonic()
        if self._read_at is not None and now - self._read_at < self._ttl:
            return
        async with self._db.read() as conn:
            self.launched = await launched_services(conn)
        self._read_at = now

    def invalidate(self) -> None:
        self._read_at = None

    def catalog(self, base: Catalog) -> Catalog:
        """`base` with every launched service reading as active, as of the last refresh."""
        return replace(base, services=_LiveServices(base.services, self))


class _LiveServices(Mapping[str, Service]):
    def __init__(self, base: Mapping[str, Service], state: LaunchState) -> None:
        self._base = base
        self._state = state
        self._seen: frozenset[str] = frozenset()
        self._view: Mapping[str, Service] = base

    def _current(self) -> Mapping[str, Service]:
        launched = self._state.launched
        if launched != self._seen:  # rebuilt only when the launched set changes
            self._view = MappingProxyType(
                {
                    key: replace(s, active=True, launched=True)
                    if key in launched and not s.active
                    else s
                    for key, s in self._base.items()
                }
            )
            self._seen = launched
        return self._view

    def __getitem__(self, key: str) -> Service:
        return self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._base)
