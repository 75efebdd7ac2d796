"""`clinicflow retention run`: list what the retention policy says is due; `--apply` does it.

A dry run is the default because applying deletes and de-identifies for good: the listing
is what someone reviews (and keeps) before running again with `--apply`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from clinicflow.catalog.errors import ConfigError
from clinicflow.catalog.service import load_catalog
from clinicflow.cli_keys import ring_or_exit
from clinicflow.cli_progress import progress_bar
from clinicflow.infra.audit import use_key
from clinicflow.infra.audit_anchor import Head, write
from clinicflow.infra.db import Database
from clinicflow.retention import STEPS, RetentionPlan, apply, plan, rows
from clinicflow.settings import Settings
from clinicflow.shared.clock import SystemClock

retention_app = typer.Typer(
    help="Data retention: delete or de-identify what the policy no longer keeps.",
    no_args_is_help=True,
)
console = Console()
FIRST_IDS = 3

Apply = Annotated[bool, typer.Option("--apply", help="Delete and de-identify (default: dry run).")]


@retention_app.command("run")
def run(apply_changes: Apply = False) -> None:
    """Show what config/clinic.yaml's `retention:` rules make due; with --apply, carry it out."""
    settings = Settings()
    try:
        policy = load_catalog(settings.config_path).retention
    except ConfigError as exc:
        console.print(f"[red]✗[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    now = SystemClock().now()
    needed_for = "pruning verifies and extends the audit chain, which the key ring keys"
    audit_key = ring_or_exit(settings, needed_for).audit_key

    async def go() -> RetentionPlan:
        db = Database(settings.database_url)
        use_key(db, audit_key)
        try:
            if not apply_changes:
                return await plan(db, policy, now)
            with progress_bar("retention", len(STEPS)) as bar:

                def done(step: str) -> None:
                    bar.advance(note=f"retention: {step}")

                return await apply(db, policy, now, done)
        finally:
            await db.dispose()

    result = asyncio.run(go())
    pruned = result.audit
    if pruned.through_id is not None and pruned.through_hash is not None:
        # The pruning checkpoint kept outside the database too: a forged or rewritten one in
        # the database then differs from it (`audit verify`).
        head = Head(pruned.through_id, pruned.through_hash)
        write(settings.resolved_audit_checkpoint_file, audit_key, head, now)
    _show(result)
    if not result.applied:
        console.print("dry run: nothing was changed; run with --apply to delete/de-identify")
        return
    _summary(result)
    if result.audit_refused is not None:
        console.print(f"[red]✗ audit log not pruned:[/] {result.audit_refused}", highlight=False)
        raise typer.Exit(1)


def _show(result: RetentionPlan) -> None:
    title = "retention applied" if result.applied else "retention due (dry run)"
    table = Table(title=f"{title} at {result.now:%Y-%m-%d %H:%M} UTC")
    for name in ("class", "rule", "count"):
        table.add_column(name, justify="right" if name == "count" else "left")
    table.add_column("first ids", overflow="fold")
    for row in rows(result):
        more = len(row.ids) - FIRST_IDS
        ids = ", ".join(row.ids[:FIRST_IDS]) + (f" (+{more} more)" if more > 0 else "")
        table.add_row(row.data, row.rule, str(row.count), ids)
    console.print(table)


def _summary(result: RetentionPlan) -> None:
    audit = result.audit
    pruned = (
        f"pruned {audit.rows} audit rows (through row {audit.through_id}; checkpoint written)"
        if audit.rows
        else "pruned no audit rows"
    )
    console.print(
        f"deleted {len(result.expired_holds)} expired holds; "
        f"de-identified {len(result.patients)} patients "
        f"({len(result.patients_spared)} spared: legal hold); {pruned}",
        highlight=False,
    )
