"""`clinicflow simulate`: days of clinic history made through the use cases, into an empty
database (docs/simulation.md)."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from clinicflow.settings import Settings

if TYPE_CHECKING:
    from clinicflow.simulation import SimulatedClinic

console = Console(stderr=True, soft_wrap=True)

Days = Annotated[int, typer.Option(min=1, max=3660, help="How many days, ending today.")]
Seed = Annotated[int, typer.Option(help="The same seed makes the same history.")]
Practitioners = Annotated[
    int, typer.Option(min=1, max=60, help="How many practitioners the clinic has.")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="Where to write (an empty database); default CLINICFLOW_DATABASE_URL."),
]
Until = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"],
        help="The day after the last one simulated (default today): with it, the same seed "
        "makes the same history on any day.",
    ),
]
Clinic = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help="The clinic file to start from; default CLINICFLOW_CONFIG_PATH.",
    ),
]


def simulate(
    days: Days = 365,
    seed: Seed = 1,
    practitioners: Practitioners = 8,
    database_url: DatabaseUrl = None,
    clinic: Clinic = None,
    until: Until = None,
) -> None:
    """Simulate a clinic's history (patients, visits, no-shows, cancellations, payments,
    refunds, waitlists and a launch) into an empty database, through the real use cases.
    The clinic it ran in is written beside the data; serve with CLINICFLOW_CONFIG_PATH
    set to it."""
    from clinicflow.catalog.service import check_config
    from clinicflow.simulation import simulated_clinic

    given = {"database_url": database_url} if database_url else {}
    settings = Settings.model_validate(given)
    target = settings.data_dir / "simulated-clinic.yaml"
    made = simulated_clinic(clinic or settings.config_path, practitioners, target)
    problems = check_config(made.path)
    if problems:
        for item in problems:
            console.print(f"[red]✗[/] {item}", highlight=False)
        raise typer.Exit(1)
    settings = settings.model_copy(update={"config_path": made.path})
    started = time.perf_counter()
    lines = asyncio.run(run_simulation(settings, days, seed, made, until.date() if until else None))
    if lines is None:
        console.print(
            "[red]✗[/] the database already has bookings: simulate into an empty one "
            "(--database-url)",
            highlight=False,
        )
        raise typer.Exit(1)
    for line in lines:
        typer.echo(line)
    console.print(
        f"[green]simulated[/] {days} days in {time.perf_counter() - started:.1f} s; the clinic "
        f"it ran in: {made.path} (serve with CLINICFLOW_CONFIG_PATH={made.path})",
        highlight=False,
    )


async def run_simulation(
    settings: Settings, days: int, seed: int, made: SimulatedClinic, until: date | None = None
) -> list[str] | None:
    """The summary's lines, or None when the database already had bookings."""
    from clinicflow.bootstrap import build
    from clinicflow.cli_progress import progress_bar
    from clinicflow.demo import DemoClock
    from clinicflow.infra.migrate import upgrade
    from clinicflow.simulation import ClinicYear, YearPlan, has_bookings

    await upgrade(settings.database_url)
    clock = DemoClock()
    container = build(settings, clock=clock)
    if until is not None:  # the days before it; the clock stays there for the bookings ahead
        clock.set(datetime.combine(until, clock_time(0), container.catalog.clinic.tz))
    try:
        if await has_bookings(container):
            return None
        year = ClinicYear(container, clock, YearPlan(days, seed, made))
        with progress_bar("simulating", days, console) as bar:
            tally = await year.run(lambda day: bar.advance(1, note=f"simulating {day}"))
        return tally.lines()
    finally:
        await container.aclose()
