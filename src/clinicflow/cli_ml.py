"""`clinicflow ml`: the five models over the analytics lake (docs/ml.md): demand, no-show
risk, churn risk, waitlist conversion and schedule proposal.

`train` scores each on a later period held out, fits what the lake can judge on the lake as
it is, keeps each in the registry and caches their predictions; `evaluate` prints the
held-out scores only (with `--json`, for scripts; a model the lake cannot judge yet is
`{"skipped": why}`); `predict` caches the latest models' predictions again (or a named
registry entry's), as the API serves them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from clinicflow.bootstrap.forecasting import model_training
from clinicflow.catalog.service import load_catalog
from clinicflow.cli_progress import progress_bar
from clinicflow.forecasting.service import ModelTraining
from clinicflow.infra.db import Database
from clinicflow.settings import Settings
from clinicflow.shared.clock import SystemClock
from clinicflow.shared.errors import DomainError

ml_app = typer.Typer(
    help=(
        "Machine learning over the analytics lake: demand forecast, no-show and churn risk, "
        "waitlist conversion, schedule proposals (docs/ml.md)."
    ),
    no_args_is_help=True,
)
console = Console(stderr=True)
EVALUATE_STEPS = 4 + 3  # evaluate_lake's steps, then each planning model's
TRAIN_STEPS = EVALUATE_STEPS + 4  # the risks fitted (2), the planning models, predictions
T = TypeVar("T")


def _run(work: Callable[[ModelTraining], Awaitable[T]]) -> T:
    settings = Settings()

    async def go() -> T:
        db = Database(settings.database_url)
        try:
            catalog = load_catalog(settings.config_path)
            return await work(model_training(settings, db, catalog, SystemClock()))
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except DomainError as exc:  # no model yet, too little history: said in one line
        console.print(f"[red]✗[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc


@ml_app.command("train")
def train() -> None:
    """Fit every model the lake can judge, keep each in the registry, cache its predictions."""

    async def work(training: ModelTraining) -> list[str]:
        with progress_bar("training", TRAIN_STEPS, console) as bar:
            entries = await training.train(lambda note: bar.advance(1, note=note))
        return [
            f"{e.kind} v{e.version} ({e.id}): {json.dumps(_headline(e.kind, e.metrics))}"
            for e in entries
        ]

    for line in _run(work):
        typer.echo(line)


HEADLINES = {
    "demand": ("mase", "baseline_mase"),
    "no_show": ("auc", "baseline_auc", "ece"),
    "churn": ("c_index", "auc_60d"),
    "waitlist": ("auc", "baseline_auc"),
    "schedule": ("uplift", "seconds"),
}


def _headline(kind: str, metrics: dict[str, object]) -> dict[str, object]:
    return {k: metrics.get(k) for k in HEADLINES.get(kind, ())}


@ml_app.command("evaluate")
def evaluate(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print the figures as JSON, per model (an unjudged one: {"skipped": why}).',
        ),
    ] = False,
) -> None:
    """Score each model on a later period held out, beside its baseline (nothing kept)."""

    async def work(training: ModelTraining) -> dict[str, dict[str, object]]:
        with progress_bar("evaluating", EVALUATE_STEPS, console) as bar:
            return await training.evaluate(lambda note: bar.advance(1, note=note))

    found = _run(work)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for kind, figures in found.items():
        shown = {k: v for k, v in figures.items() if not isinstance(v, dict)}
        typer.echo(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))


@ml_app.command("predict")
def predict(
    model: Annotated[
        str | None, typer.Option(help="A registry entry's id (default: each kind's latest).")
    ] = None,
) -> None:
    """Cache each model's predictions again from its registry entry (latest, or --model)."""

    async def work(training: ModelTraining) -> dict[str, int]:
        with progress_bar("predicting", None, console):
            return await training.predict(model)

    for kind, n in _run(work).items():
        typer.echo(f"{kind}: {n} predictions cached")
