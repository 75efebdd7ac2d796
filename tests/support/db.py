"""A committed unit of work for tests that write rows by hand (set-up, a crash simulated)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import UnitOfWork


@asynccontextmanager
async def written(db: Database) -> AsyncIterator[UnitOfWork]:
    """A unit of work committed as the block ends normally (rolled back if it raises)."""
    async with UnitOfWork(db) as uow:
        yield uow
        await uow.commit()
