"""`clinicflow keys …`: the key ring that seals data at rest (patient PHI, staff TOTP
secrets, OAuth signing keys: every column in `clinicflow.sealed`) and keys the audit chain.

`init` makes a ring on first set-up only. The order is rotate → reseal → retire; running
processes follow the key file without a restart (`infra.crypto.LiveKeyRing`), and `retire`
refuses while any value still uses the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from clinicflow.bootstrap._keys import init_keys
from clinicflow.cli_progress import progress_bar
from clinicflow.infra.crypto import KeyFileBusy, KeyRing, KeyRingError, load
from clinicflow.infra.db import Database
from clinicflow.infra.rekey import (
    KeyStillInUse,
    ResealReport,
    add_key,
    key_status,
    reseal,
    retire,
    rotate,
)
from clinicflow.sealed import SEALED
from clinicflow.settings import Settings

keys_app = typer.Typer(help="The key ring that encrypts data at rest.", no_args_is_help=True)
console = Console(stderr=True)


def ring_or_exit(settings: Settings, needed_for: str) -> KeyRing:
    """The key ring a command needs (`needed_for` says why, in words), or one line saying
    which file could not be read and exit 1."""
    try:
        return load(settings.resolved_keys_file)
    except (OSError, KeyRingError) as exc:
        console.print(
            f"[red]✗[/] {needed_for}, and the key file {settings.resolved_keys_file} cannot "
            f"be read ({type(exc).__name__}); give CLINICFLOW_KEYS_FILE",
            highlight=False,
        )
        raise typer.Exit(1) from exc


T = TypeVar("T")


def _run(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    settings = Settings()

    async def go() -> T:
        db = Database(settings.database_url)
        try:
            return await work(db, settings)
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except (KeyStillInUse, KeyRingError, KeyFileBusy) as exc:
        console.print(f"[red]✗[/] {getattr(exc, 'detail', exc)}", highlight=False)
        raise typer.Exit(1) from exc


@keys_app.command("init")
def init() -> None:
    """Make a new key ring (first set-up only: refused over a file or over stored data)."""
    settings = Settings()
    try:
        ring = init_keys(settings.database_url, settings.resolved_keys_file)
    except KeyRingError as exc:
        console.print(f"[red]✗[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(
        f"[green]new key ring[/] in {settings.resolved_keys_file} (active key {ring.active}); "
        "back it up: without it the data sealed from now on cannot be read",
        highlight=False,
    )


@keys_app.command("status")
def status() -> None:
    """The active key and how many encrypted values each key seals."""
    found = _run(lambda db, s: key_status(db, SEALED, load(s.resolved_keys_file)))
    for key_id in found.key_ids:
        mark = " (active)" if key_id == found.active_key else ""
        console.print(f"{key_id}{mark}: {found.counts.get(key_id, 0)} values")
    if found.unbound:
        console.print(
            f"{found.unbound} values predate row binding; `clinicflow keys reseal` binds them"
        )


@keys_app.command("add")
def add_cmd() -> None:
    """Stage a new key that opens but does not seal yet: for processes that get the key file
    by copy (a Kubernetes Secret), so each holds the key before anything uses it."""
    settings = Settings()
    try:
        key_id = add_key(settings.resolved_keys_file)
    except (KeyRingError, KeyFileBusy) as exc:
        console.print(f"[red]✗[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(
        f"[green]staged key {key_id}[/]; once every process has this file, "
        f"`clinicflow keys rotate --activate {key_id}`",
        highlight=False,
    )


Activate = Annotated[
    str | None,
    typer.Option("--activate", metavar="KEY", help="Make this staged key active (`keys add`)."),
]


@keys_app.command("rotate")
def rotate_cmd(activate: Activate = None) -> None:
    """Make a new key (or the staged --activate KEY) active and re-encrypt every value under
    it."""
    report = _run(lambda db, s: rotate(db, SEALED, s.resolved_keys_file, activate=activate))
    console.print(
        f"[green]active key {report.active_key}[/] (was {report.previous_key}); "
        f"{report.reseal.values_resealed} values re-encrypted; running processes follow the "
        "key file: run `clinicflow keys reseal` once more, then retire the old key"
    )
    if report.reseal.undecryptable:
        console.print(f"[red]{len(report.reseal.undecryptable)} values did not decrypt[/]")


@keys_app.command("reseal")
def reseal_cmd() -> None:
    """Finish re-encrypting under the active key (after an interrupted rotate), binding
    values sealed before row binding to their row."""
    report = _run(_reseal_showing_progress)
    console.print(f"{report.values_resealed} values re-encrypted")


async def _reseal_showing_progress(db: Database, settings: Settings) -> ResealReport:
    found = await key_status(db, SEALED, load(settings.resolved_keys_file))
    stale = found.unbound + sum(n for kid, n in found.counts.items() if kid != found.active_key)
    with progress_bar("re-encrypting", stale, console) as bar:
        shown = 0

        def on_batch(report: ResealReport) -> None:
            nonlocal shown
            bar.advance(report.values_resealed - shown)
            shown = report.values_resealed

        return await reseal(db, SEALED, settings.resolved_keys_file, on_batch=on_batch)


@keys_app.command("retire")
def retire_cmd(key_id: str) -> None:
    """Remove an old key once no value uses it."""
    _run(lambda db, s: retire(db, SEALED, s.resolved_keys_file, key_id))
    console.print(f"[green]retired {key_id}[/]")
