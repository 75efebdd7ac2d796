"""`clinicflow ml`: the no-show and churn models over the analytics lake (docs/ml.md).

`train` fits both on the lake as it is, scores them on a later period held out, keeps them in
the registry and caches their predictions; `evaluate` prints the held-out scores only (with
`--json`, for scripts); `predict` caches the latest models' predictions again (or a named
registry entry's), as the staff endpoints serve them.
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
    help="Machine learning: no-show and churn risk over the analytics lake.",
    no_args_is_help=True,
)
console = Console(stderr=True)
EVALUATE_STEPS = 4  # forecasting/service.py evaluate_lake's steps
TRAIN_STEPS = EVALUATE_STEPS + 3
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
    """Fit both models on the lake, keep them in the registry and cache their predictions."""

    async def work(training: ModelTraining) -> list[str]:
        with progress_bar("training", TRAIN_STEPS, console) as bar:
            entries = await training.train(lambda note: bar.advance(1, note=note))
        return [
            f"{e.kind} v{e.version} ({e.id}): {json.dumps(_headline(e.kind, e.metrics))}"
            for e in entries
        ]

    for line in _run(work):
        typer.echo(line)


def _headline(kind: str, metrics: dict[str, object]) -> dict[str, object]:
    keys = ("auc", "baseline_auc", "ece") if kind == "no_show" else ("c_index", "auc_60d")
    return {k: metrics[k] for k in keys}


@ml_app.command("evaluate")
def evaluate(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Score both models on the lake's last 60 days, trained on what came before."""

    async def work(training: ModelTraining) -> dict[str, object]:
        with progress_bar("evaluating", EVALUATE_STEPS, console) as bar:
            return await training.evaluate(lambda note: bar.advance(1, note=note))

    found = _run(work)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for kind, figures in found.items():
        assert isinstance(figures, dict)
        shown = {k: v for k, v in figures.items() if not isinstance(v, dict)}
        typer.echo(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))


@ml_app.command("predict")
def predict(
    model: Annotated[
        str | None, typer.Option(help="A registry entry's id (default: each kind's latest).")
    ] = None,
) -> None:
    """Cache the models' predictions: upcoming bookings' no-show risk, patients' churn risk."""

    async def work(training: ModelTraining) -> dict[str, int]:
        with progress_bar("predicting", None, console):
            return await training.predict(model)

    for kind, n in _run(work).items():
        typer.echo(f"{kind}: {n} predictions cached")
