"""`clinicflow payments …`: reconcile the ledger with the payment gateways."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer
from rich.console import Console

from clinicflow.cli_progress import progress_bar
from clinicflow.payments.domain.reconcile import Difference
from clinicflow.settings import Settings
from clinicflow.shared.clock import SystemClock

payments_app = typer.Typer(help="Payments: reconciliation with the gateways.", no_args_is_help=True)
console = Console()
Since = Annotated[
    str | None,
    typer.Option(help="First day (YYYY-MM-DD, UTC) of payments to compare; default 30 days ago."),
]


@payments_app.command("reconcile")
def reconcile(since: Since = None) -> None:
    """Compare ledger totals per gateway payment with the gateway's records; list every
    difference and exit 1 when there is one."""
    start = _since(since)
    found, providers = asyncio.run(_differences(Settings(), start))
    if not providers:
        console.print("no payment gateway is configured: nothing to reconcile")
        return
    if not found:
        console.print(
            f"[green]OK[/]: ledger and {', '.join(providers)} agree since {start:%Y-%m-%d}"
        )
        return
    _print(found)
    console.print(f"[red]{len(found)} difference(s)[/] since {start:%Y-%m-%d}", highlight=False)
    raise typer.Exit(1)


def _since(given: str | None) -> datetime:
    if given is None:
        today = SystemClock().now().date()
        return datetime.combine(today - timedelta(days=30), time(), UTC)
    try:
        return datetime.combine(date.fromisoformat(given), time(), UTC)
    except ValueError:
        raise typer.BadParameter(f"{given!r}: give a date like 2026-11-01") from None


async def _differences(settings: Settings, since: datetime) -> tuple[list[Difference], list[str]]:
    from clinicflow.bootstrap import build

    container = build(settings)
    try:
        reconciler = container.payments.reconciler
        if not reconciler.gateways:
            return [], []
        with progress_bar("gateway records read", None) as bar:

            def read(done: int, expected: int) -> None:
                bar.total(max(done, expected))
                bar.advance()

            found = await reconciler.differences(since, read)
        return found, list(reconciler.gateways)
    finally:
        await container.aclose()


def _print(found: list[Difference]) -> None:
    # One line per difference, never wrapped: people read it, and scripts grep it.
    for d in found:
        typer.echo(
            f"{d.kind}  {d.provider}  {d.provider_id}  ledger={d.ledger_cents}  "
            f"gateway={d.gateway_cents}  {d.detail}"
        )
