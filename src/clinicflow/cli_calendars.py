"""`clinicflow calendars …`: where each external calendar source stands, a sync now, and the
address of a practitioner's own ICS feed."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from clinicflow.calendars.feeds.errors import UnknownPractitioner
from clinicflow.calendars.feeds.views import IssuedFeed
from clinicflow.calendars.views import PractitionerStatus, SyncOutcome
from clinicflow.cli_progress import progress_bar
from clinicflow.settings import Settings

calendars_app = typer.Typer(
    help="External calendars: the busy-time store's sources, syncing them, and practitioners' "
    "own ICS feeds.",
    no_args_is_help=True,
)
console = Console()
NONE_CONFIGURED = "no external calendar is configured (docs/calendars.md)"


@calendars_app.command("status")
def status() -> None:
    """One line per practitioner and source: synced, age, errors in a row, breaker, intervals
    held. Exits 1 when a practitioner is unconfirmed (every source stale: not offered)."""
    found = asyncio.run(_status(Settings()))
    if found is None:
        console.print(NONE_CONFIGURED)
        return
    for practitioner in found:
        for s in practitioner.sources:
            age = f"{int(s.age.total_seconds())}s" if s.age is not None else "never"
            typer.echo(
                f"{s.practitioner}  {s.source}  "
                f"{'stale' if s.stale else 'fresh'}  age={age}  "
                f"budget={int(s.budget.total_seconds())}s  errors={s.consecutive_errors}  "
                f"breaker={s.breaker}  intervals={s.intervals}"
            )
    unconfirmed = [p.practitioner for p in found if not p.confirmed]
    if unconfirmed:
        console.print(
            f"[red]unconfirmed[/] (not offered): {', '.join(unconfirmed)}", highlight=False
        )
        raise typer.Exit(1)
    console.print("[green]OK[/]: every practitioner has a fresh source", highlight=False)


async def _status(settings: Settings) -> list[PractitionerStatus] | None:
    from clinicflow.bootstrap import build

    container = build(settings)
    try:
        service = container.calendars.service
        return await service.status() if service.feeds else None
    finally:
        await container.aclose()


Full = Annotated[bool, typer.Option("--full", help="Snapshot everything, not only changes.")]
Practitioner = Annotated[
    str | None, typer.Option("--practitioner", help="Only this practitioner (its key).")
]


@calendars_app.command("sync")
def sync(full: Full = False, practitioner: Practitioner = None) -> None:
    """Ask every source now (even one backing off), from its cursor or in full; one line per
    source and practitioner. Exits 1 when a source failed."""
    outcomes = asyncio.run(_sync(Settings(), full, practitioner))
    if outcomes is None:
        console.print(NONE_CONFIGURED)
        return
    for o in outcomes:
        if o.kind == "failed":
            typer.echo(f"{o.practitioner}  {o.source}  failed  {o.error}")
            continue
        changed = "changed" if o.changed else "unchanged"
        typer.echo(f"{o.practitioner}  {o.source}  {o.kind}  {changed}")
    failed = [o for o in outcomes if o.kind == "failed"]
    if failed:
        console.print(f"[red]{len(failed)} failed[/]", highlight=False)
        raise typer.Exit(1)


async def _sync(
    settings: Settings, full: bool, practitioner: str | None
) -> list[SyncOutcome] | None:
    from clinicflow.bootstrap import build

    container = build(settings)
    try:
        service = container.calendars.service
        if not service.feeds:
            return None
        if practitioner is not None and practitioner not in service.practitioners:
            known = ", ".join(service.practitioners)
            raise typer.BadParameter(f"{practitioner!r}: no such practitioner (known: {known})")
        keys = [practitioner] if practitioner else list(service.practitioners)
        total = sum(1 for feed in service.feeds for p in keys if feed.covers(p))
        with progress_bar("calendars synced", total) as bar:

            def step(outcome: SyncOutcome) -> None:
                bar.advance(note=f"calendars synced ({outcome.source}: {outcome.practitioner})")

            return await service.sync_all(full=full, practitioners=keys, force=True, progress=step)
    finally:
        await container.aclose()


Revoke = Annotated[
    bool, typer.Option("--revoke", help="Remove the feed: its address stops working.")
]


@calendars_app.command("feed-token")
def feed_token(
    key: Annotated[str, typer.Argument(help="The practitioner's key (config/clinic.yaml).")],
    revoke: Revoke = False,
) -> None:
    """A new address of the practitioner's ICS feed (their bookings, no patient data), shown
    once; any earlier address stops working. With --revoke, the feed is removed. Exits 2 for
    an unknown practitioner."""
    try:
        done = asyncio.run(_feed_token(Settings(), key, revoke))
    except UnknownPractitioner as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(2) from None
    if isinstance(done, IssuedFeed):
        typer.echo(f"{key}'s calendar feed (subscribe to it in any calendar app):")
        typer.echo(f"  {done.url}")  # one line, never wrapped: it is copied whole
        typer.echo("Shown once: clinicflow keeps only a digest of the token.")
        if done.replaced:
            typer.echo("The previous address of this feed stopped working.")
        return
    if done:
        typer.echo(f"{key}'s calendar feed is revoked: its address stopped working.")
    else:
        typer.echo(f"{key} had no calendar feed; nothing changed.")


async def _feed_token(settings: Settings, key: str, revoke: bool) -> IssuedFeed | bool:
    from clinicflow.bootstrap import build

    container = build(settings)
    try:
        feeds = container.calendars.practitioner_feeds
        return await feeds.revoke(key) if revoke else await feeds.issue(key)
    finally:
        await container.aclose()
