# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""The metrics over the lake, in DuckDB: the read model. A connection where the lake's
`events` table is a view of the current snapshot's Parquet files, the inputs the lake does
not hold are small tables handed over from Python (`Inputs`: offered minutes from the
catalog's hours, list prices, availability views, churn windows), and the views every metric
reads are derived once (`bookings`, `paid_lines`, `money`); `METRICS`, every metric as its
family defines it once (its name, views, dimensions, measures and the SQL that computes
them: `visits/queries.py`, `revenue/queries.py`, `patients/queries.py`), run over it.
Formulas in words: docs/analytics.md "Metrics".
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from clinicflow.analytics.domain.lake import COLUMNS
from clinicflow.analytics.domain.lake import Kind as LakeKind
from clinicflow.analytics.domain.metric_sql import Defined
from clinicflow.analytics.domain.metrics import Inputs, Metric, Question
from clinicflow.analytics.patients.queries import (
    ACQUISITION,
    CHURN,
    CROSS_SERVICE,
    RETENTION,
    WAITLIST,
)
from clinicflow.analytics.revenue.queries import GEOGRAPHY, REVENUE
from clinicflow.analytics.visits.queries import FUNNEL, NO_SHOWS, UTILIZATION
from clinicflow.shared.lake import DUCKDB, Dialect, bookings

if TYPE_CHECKING:
    import duckdb

# -- the connection -------------------------------------------------------------------------

_DUCK = {LakeKind.INT: "BIGINT", LakeKind.INSTANT: "TIMESTAMPTZ", LakeKind.IDS: "VARCHAR[]"}


def connect(
    files: Sequence[str], tz: str, inputs: Inputs | None = None, *, materialize: bool = False
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake as the view `events` (an empty table of
    the lake's columns when the lake has no file yet), the derived views every metric reads
    (`bookings`, `paid_lines`, `money`) and `inputs` as tables. Reads no other file after.
    `materialize`: the derived ones are built once as tables, for a connection that answers
    many questions over one snapshot (`DuckDbMetrics`)."""
    import duckdb  # imported on first use: the app's wiring does not (docs/architecture.md)

    con = duckdb.connect(":memory:")
    zone = tz.replace("'", "")
    con.execute(f"SET TimeZone = '{zone}'")
    local = [f.removeprefix("file://") for f in files]
    if local:
        con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet({_paths(local)})")
    else:
        cols = ", ".join(f"{name} {_DUCK.get(kind, 'VARCHAR')}" for name, kind in COLUMNS)
        con.execute(f"CREATE TABLE events ({cols})")
    con.execute(f"CREATE MACRO local_day(t) AS CAST(timezone('{zone}', t) AS DATE)")
    _tables(con, inputs or Inputs(tz=tz))
    for name, sql in derived(DUCKDB):
        con.execute(f"CREATE {'TABLE' if materialize else 'VIEW'} {name} AS {sql}")
    # From here the connection reads the lake's files only: no other file, no setting changed.
    con.execute(f"SET allowed_paths = {_paths(local)}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _paths(paths: Sequence[str]) -> str:
    """A list literal of paths (a view's definition cannot take a bound parameter)."""
    quoted = (p.replace("'", "''") for p in paths)
    return "[" + ", ".join(f"'{p}'" for p in quoted) + "]::VARCHAR[]"


def _tables(con: duckdb.DuckDBPyConnection, inputs: Inputs) -> None:
    import pyarrow as pa

    s = inputs.supply
    tables = {
        "supply": pa.table(
            {
                "practitioner": pa.array([o.practitioner for o in s], pa.string()),
                "day": pa.array([o.day for o in s], pa.date32()),
                "offered_min": pa.array([o.minutes for o in s], pa.int64()),
            }
        ),
        "offers": pa.table(
            {
                "practitioner": pa.array([p for p, _ in inputs.offers], pa.string()),
                "service": pa.array([x for _, x in inputs.offers], pa.string()),
            }
        ),
        "prices": pa.table(
            {
                "service": pa.array([x[0] for x in inputs.prices], pa.string()),
                "visit_type": pa.array([x[1] for x in inputs.prices], pa.string()),
                "price_cents": pa.array([x[2] for x in inputs.prices], pa.int64()),
            }
        ),
        "views": pa.table(
            {
                "day": pa.array([x[0] for x in inputs.views], pa.date32()),
                "service": pa.array([x[1] for x in inputs.views], pa.string()),
                "views": pa.array([x[2] for x in inputs.views], pa.int64()),
            }
        ),
        "churn_window": pa.table(
            {
                "service": pa.array(list(inputs.churn_days), pa.string()),
                "days": pa.array(list(inputs.churn_days.values()), pa.int64()),
            }
        ),
    }
    for name, table in tables.items():
        con.register(f"_{name}", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}")
        con.unregister(f"_{name}")
    con.execute(
        "CREATE TABLE settings AS SELECT ?::BIGINT AS churn_default, ?::BIGINT AS late_hours",
        [inputs.churn_default, inputs.late_cancel_hours],
    )


def derived(d: Dialect) -> tuple[tuple[str, str], ...]:
    """The views every metric reads, as (name, SELECT) in `d`'s SQL (DuckDB here, Spark in
    adapters/lake/spark_metrics.py): each booking as it stands after its last event
    (shared/lake.py); each paid order spread over its visits by list price (equally when none
    has one); every amount of money with its local day."""
    zero, one = d.double("0.0"), d.double("1.0")
    # Nested subqueries, not a WITH: Spark does not find a cached view that has a WITH of
    # its own inside a question's WITH (`facts`), and ran these joins and windows again for
    # every revenue question (adapters/lake/spark_metrics.py caches the views).
    paid_lines = f"""
    SELECT *,
           CASE WHEN sum(price) OVER (PARTITION BY order_id) > 0
                THEN price / sum(price) OVER (PARTITION BY order_id)
                ELSE {one} / count(*) OVER (PARTITION BY order_id) END AS weight
    FROM (
        SELECT l.*, b.service, b.practitioner, b.source, coalesce(p.price_cents, 0) AS price
        FROM (
            SELECT order_id, total_cents, paid_at, zip3, {d.each("booking_ids")} AS booking_id
            FROM (
                SELECT order_id,
                       {d.first("total_cents")} AS total_cents,
                       {d.first("booking_ids")} AS booking_ids,
                       min(occurred_at) AS paid_at,
                       max(zip3) AS zip3
                FROM events WHERE type = 'payment.succeeded' AND order_id IS NOT NULL
                GROUP BY order_id
            ) AS orders
        ) AS l
        LEFT JOIN bookings b ON b.booking_id = l.booking_id
        LEFT JOIN prices p ON p.service = b.service AND p.visit_type = b.visit_type
    ) AS priced
    """
    money = f"""
    SELECT booking_id, service, practitioner, zip3, {d.day("paid_at")} AS day,
           total_cents * weight AS gross, {zero} AS refunded
    FROM paid_lines
    UNION ALL
    SELECT l.booking_id, l.service, l.practitioner, l.zip3, {d.day("r.occurred_at")},
           {zero}, r.amount_cents * CASE WHEN r.booking_id IS NULL THEN l.weight ELSE {one} END
    FROM events r
    JOIN paid_lines l
      ON l.order_id = r.order_id AND (r.booking_id IS NULL OR l.booking_id = r.booking_id)
    WHERE r.type = 'payment.refunded' AND r.amount_cents IS NOT NULL
    """
    return (("bookings", bookings(d)), ("paid_lines", paid_lines), ("money", money))


# -- the registry: each metric from its family's module, in the order they are listed -------

METRICS: dict[str, Defined] = {
    d.metric.name: d
    for d in (
        UTILIZATION,
        REVENUE,
        ACQUISITION,
        WAITLIST,
        CROSS_SERVICE,
        CHURN,
        RETENTION,
        NO_SHOWS,
        GEOGRAPHY,
        FUNNEL,
    )
}


class DuckDbMetrics:
    """analytics' `MetricsEngine`: the registry above, run by DuckDB.

    The derived tables every metric reads (each booking as it stands, each paid line, the
    money) are built once per lake snapshot and inputs, and kept for the next question: a
    page or a report asks a dozen questions of one snapshot, and rebuilding them from the
    events is most of a question's cost (`benchmarks/analytics.py`). A new snapshot (other
    files) or other inputs (another period's supply) builds them afresh; only the newest is
    kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: tuple[str, duckdb.DuckDBPyConnection] | None = None

    def metric(self, name: str) -> Metric | None:
        found = METRICS.get(name)
        return found.metric if found else None

    async def answer(
        self, q: Question, files: Sequence[str], inputs: Inputs
    ) -> list[tuple[object, ...]]:
        return await asyncio.to_thread(self._answer, q, files, inputs)

    def _answer(
        self, q: Question, files: Sequence[str], inputs: Inputs
    ) -> list[tuple[object, ...]]:
        key = hashlib.sha256(repr((tuple(files), inputs)).encode()).hexdigest()
        # One question at a time on the kept connection (DuckDB runs each on every core). Not
        # a cursor each: a cursor is a new client context, without the connection's settings
        # (its TimeZone: weekdays and days would be UTC's).
        with self._lock:
            if self._kept is None or self._kept[0] != key:
                self._kept = (key, connect(files, inputs.tz, inputs, materialize=True))
            return run(self._kept[1], q)


def answer(q: Question, files: Sequence[str], inputs: Inputs) -> list[tuple[object, ...]]:
    """The question's rows, in the order of `q.columns`, on a connection of its own
    (blocking: run it in a thread)."""
    con = connect(files, inputs.tz, inputs)
    try:
        return run(con, q)
    finally:
        con.close()


def run(con: duckdb.DuckDBPyConnection, q: Question) -> list[tuple[object, ...]]:
    """The question's rows on `con`, in the order of `q.columns`."""
    sql = METRICS[q.metric.name].sql[q.view](q)
    names = [c.name for c in q.columns]
    rows = con.execute(sql, {"lo": q.lo, "hi": q.hi}).fetchall()
    got = [d[0] for d in con.description]
    at = [got.index(n) for n in names]
    return [tuple(row[i] for i in at) for row in rows]


def query(files: Sequence[str], tz: str, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
    """An analyst's own SELECT over the lake (`clinicflow analytics query`): column names and
    rows. The caller has checked it is one SELECT; the connection reads nothing but the lake."""
    con = connect(files, tz)
    try:
        rows = con.execute(sql).fetchall()
        return [d[0] for d in con.description], rows
    finally:
        con.close()


def statement_kinds(sql: str) -> list[str]:
    """The kinds of the statements in `sql` as DuckDB parses them (SELECT, INSERT …)."""
    import duckdb

    return [s.type.name for s in duckdb.extract_statements(sql)]
