"""`clinicflow audit …`: verify the audit chain, and record its head outside the database."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from clinicflow.cli_keys import ring_or_exit
from clinicflow.infra.audit import keyed_from, use_key
from clinicflow.infra.audit_anchor import Head, adopt_once, current_head, read, write
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.settings import Settings
from clinicflow.shared.clock import SystemClock

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
console = Console(stderr=True)

ExpectHead = Annotated[
    str | None,
    typer.Option(
        "--expect-head",
        metavar="N:HASH",
        help="A head recorded earlier (`clinicflow audit head`): row N must still carry HASH.",
    ),
]


def _ring(settings: Settings) -> KeyRing:
    return ring_or_exit(settings, "the audit chain is keyed by the key ring")


@audit_app.command("verify")
def audit_verify(expect_head: ExpectHead = None) -> None:
    """Check the audit chain with its key, against every checkpoint kept outside the database
    (and --expect-head); name the first row that was altered, removed or forged."""
    from clinicflow.infra.audit import verify_database

    settings = Settings()
    try:
        expected = Head.parse(expect_head) if expect_head else None
    except ValueError as exc:
        console.print(f"[red]✗[/] --expect-head: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    key = _ring(settings).audit_key
    path = settings.resolved_audit_checkpoint_file
    recorded = read(path, key)
    if recorded.bad_lines:
        lines = ", ".join(str(n) for n in recorded.bad_lines)
        console.print(
            f"[red]✗ checkpoint file broken:[/] {path} line(s) {lines} do not verify with the "
            "audit key (forged or damaged)",
            highlight=False,
        )
        raise typer.Exit(1)
    anchors = recorded.anchors() | ({expected.seq: expected.hash} if expected else {})
    result = asyncio.run(verify_database(settings.database_url, key, anchors, recorded.keyed_from))
    if not result.ok:
        console.print(f"[red]✗ audit log broken:[/] {result.problem}", highlight=False)
        raise typer.Exit(1)
    waiting = f"; {result.pending} newer entries awaiting their seal" if result.pending else ""
    console.print(
        f"[green]OK[/]: {result.checked} rows; head hash {result.head_hash}{waiting}",
        highlight=False,
    )
    if anchors:
        console.print(f"matches {len(anchors)} checkpoint(s) kept outside the database")
    else:
        console.print(
            f"[yellow]no checkpoint yet in {path}[/]: rows cut off the end would not show; "
            "`clinicflow audit head` records one",
            highlight=False,
        )


@audit_app.command("head")
def audit_head() -> None:
    """Record the chain's head (row id and hash) as a checkpoint outside the database, and
    print it as N:HASH for keeping elsewhere (`audit verify --expect-head N:HASH`)."""
    settings = Settings()
    key = _ring(settings).audit_key
    path = settings.resolved_audit_checkpoint_file

    async def newest() -> tuple[Head, int | None]:
        db = Database(settings.database_url)
        use_key(db, key)
        try:
            async with UnitOfWork(db) as uow:
                conn = uow.connection
                await adopt_once(conn, key, path)
                head = await current_head(conn), await keyed_from(conn)
                await uow.commit()
                return head
        finally:
            await db.dispose()

    head, since = asyncio.run(newest())
    if head.seq:
        write(path, key, head, SystemClock().now(), since)
        console.print(f"checkpoint written to {path}", highlight=False)
    typer.echo(str(head))
