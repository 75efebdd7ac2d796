"""`clinicflow analytics`: the de-identified lake (docs/analytics.md "The lake").

`lake-sync` moves the events recorded since the last run into the lake (what the worker's
periodic job does, on demand); `backfill` makes the lake again from the whole record, beside
the old table, and puts it in its place; `query` runs an analyst's own SELECT over it;
`spark` answers a metric with Apache Spark (docs/analytics.md "Scale-out").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from clinicflow.adapters.lake.spark_metrics import SPARK_SQL, SparkMetrics, spark_session
from clinicflow.analytics.domain.metrics import BadQuestion, Inputs, question
from clinicflow.analytics.queries import query as lake_query
from clinicflow.analytics.queries import statement_kinds
from clinicflow.analytics.service import LakeWriter, list_prices
from clinicflow.bootstrap.analytics import iceberg_lake, lake_writer
from clinicflow.catalog.service import load_catalog
from clinicflow.cli_keys import ring_or_exit
from clinicflow.cli_progress import progress_bar
from clinicflow.infra.db import Database
from clinicflow.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

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


class Refused(ValueError):
    """The analyst's SQL is not one read-only SELECT over the lake."""


def read_only(
    files: Sequence[str], tz: str, sql: str
) -> tuple[list[str], list[tuple[object, ...]]]:
    """`sql` run over the lake when it is one SELECT (or WITH … SELECT): its columns and rows.
    Anything else is refused (`Refused`) before it runs; and the connection it runs on reads
    the lake's files and nothing else, and cannot change that (a SELECT that reads a file or
    writes one is refused by DuckDB too)."""
    import duckdb

    try:
        kinds = statement_kinds(sql)
    except duckdb.Error as exc:
        raise Refused(f"not SQL DuckDB reads: {exc}") from None
    if kinds != ["SELECT"]:
        raise Refused(f"one SELECT only, not {' + '.join(kinds) or 'nothing'}")
    try:
        return lake_query(files, tz, sql)
    except duckdb.Error as exc:
        raise Refused(str(exc)) from None


@analytics_app.command("query")
def query(
    sql: str = typer.Argument(
        ..., help='One SELECT, e.g. "SELECT type, count(*) FROM events GROUP BY type"'
    ),
) -> None:
    """Run one read-only SELECT over the lake (tables: events, and the views bookings,
    paid_lines, money) and print the answer as a table."""
    settings = Settings()
    lake = iceberg_lake(settings)
    tz = load_catalog(settings.config_path).clinic.timezone
    try:
        names, rows = read_only(lake.data_files(), tz, sql)
    except Refused as exc:
        console.print(f"[red]✗[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    table = Table(*names)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    Console().print(table)
    typer.echo(f"{len(rows)} rows")


def spark_answer(
    spark: SparkSession,
    settings: Settings,
    metric: str,
    period: tuple[date, date],
    group_by: Sequence[str] | None = None,
    table: str | None = None,
) -> tuple[list[str], list[tuple[object, ...]]]:
    """`metric` over the period (local days, both included) answered by Spark: column names
    and rows, as `GET /v1/analytics/{metric}` gives them. The lake is the current snapshot's
    files as the catalog lists them, or `table` through the Iceberg runtime on `spark`."""
    engine = SparkMetrics(spark, table)
    found = engine.metric(metric)
    if found is None:
        raise Refused(f"Spark answers {', '.join(SPARK_SQL)}; not {metric!r}")
    try:
        q = question(found, *period, group_by, {})
    except BadQuestion as exc:
        raise Refused(str(exc)) from None
    catalog = load_catalog(settings.config_path)
    inputs = Inputs(
        tz=catalog.clinic.timezone,
        prices=list_prices(catalog),
        late_cancel_hours=catalog.payments.cancellation.full_refund_hours,
    )
    files = [] if table else iceberg_lake(settings).data_files()
    return [c.name for c in q.columns], engine.rows(q, files, inputs)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a day (YYYY-MM-DD)") from None


@analytics_app.command("spark")
def spark(
    metric: str = typer.Argument(..., help=f"One of: {', '.join(SPARK_SQL)}"),
    start: str = typer.Option(..., "--from", help="First local day, YYYY-MM-DD"),
    end: str = typer.Option(..., "--to", help="Last local day, YYYY-MM-DD (included)"),
    group_by: str | None = typer.Option(
        None, "--group-by", help="Comma-separated dimensions; left out: the metric's default"
    ),
    master: str = typer.Option("local[1]", help="Spark master: local[N], spark://…, yarn …"),
    table: str | None = typer.Option(
        None,
        help="Read this Iceberg table through the Iceberg runtime (e.g. "
        "clinicflow.analytics.events) instead of the snapshot's Parquet files",
    ),
    conf: Annotated[
        list[str] | None, typer.Option("--conf", help="A Spark setting, key=value (repeat)")
    ] = None,
) -> None:
    """Answer a metric with Apache Spark over the lake (this process is Spark's driver)."""
    settings = Settings()
    confs = dict(c.split("=", 1) for c in conf or () if "=" in c)
    dims = None if group_by is None else [d for d in group_by.split(",") if d]
    session = spark_session(master=master, conf=confs)
    try:
        names, rows = spark_answer(session, settings, metric, (_day(start), _day(end)), dims, table)
    except Refused as exc:
        console.print(f"[red]✗[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        session.stop()
    out = Table(*names)
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    Console().print(out)
    typer.echo(f"{len(rows)} rows")
