"""`clinicflow analytics`: the de-identified lake (docs/analytics.md "The lake").

`lake-sync` moves the events recorded since the last run into the lake (what the worker's
periodic job does, on demand); `backfill` makes the lake again from the whole record, beside
the old table, and puts it in its place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import typer
from rich.console import Console

from clinicflow.analytics.service import LakeWriter
from clinicflow.bootstrap.analytics import lake_writer
from clinicflow.cli_keys import ring_or_exit
from clinicflow.cli_progress import progress_bar
from clinicflow.infra.db import Database
from clinicflow.settings import Settings

analytics_app = typer.Typer(
    help="Analytics: the de-identified event lake (Apache Iceberg).", no_args_is_help=True
)
console = Console(stderr=True)


def _run(work: Callable[[LakeWriter], Awaitable[int]]) -> int:
    settings = Settings()
    keys = ring_or_exit(settings, "patients are named in the lake by keys derived from the ring")

    async def go() -> int:
        db = Database(settings.database_url)
        try:
            return await work(lake_writer(settings, db, keys))
        finally:
            await db.dispose()

    return asyncio.run(go())


@analytics_app.command("lake-sync")
def lake_sync() -> None:
    """Move the events recorded since the last run into the lake, batch by batch."""

    async def work(writer: LakeWriter) -> int:
        with progress_bar("lake sync", await writer.pending()) as bar:
            return await writer.sync(bar.advance)

    moved = _run(work)
    typer.echo(f"{moved} events moved into the lake")


@analytics_app.command("backfill")
def backfill() -> None:
    """Make the lake again from every recorded event (the old table stays until it is done)."""

    async def work(writer: LakeWriter) -> int:
        async with writer.uow.reading() as uow:
            total = await uow.events.count_after(0)
        with progress_bar("lake backfill", total) as bar:
            return await writer.rebuild(bar.advance)

    moved = _run(work)
    typer.echo(f"the lake was rebuilt from {moved} events")
