# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""Two of the metrics run by Apache Spark instead of DuckDB (docs/analytics.md "Scale-out"):
`revenue` and `no-shows`, with every grouping and measure their definitions in
`analytics/revenue/queries.py` and `analytics/visits/queries.py` have (the same `METRICS`
entries, so the same questions are asked and checked the same way), written in Spark SQL over
the same `events` columns, in the same shape (`aggregate`).

`SparkMetrics` is analytics' `MetricsEngine`: `AnalyticsReports` with it instead of
`DuckDbMetrics` answers those two metrics from Spark. The lake is read one of two ways:

* `table=None`: the Parquet files of the Iceberg table's current snapshot, as the catalog
  lists them (`IcebergLake.data_files()`), with `spark.read.parquet`: what a Spark without
  the Iceberg runtime jar can do (the local test; the jar is on Maven Central only);
* `table="clinicflow.analytics.events"`: the table through the Iceberg runtime and the same
  SQL catalog (a Spark cluster configured as docs/analytics.md shows).

pyspark is imported only when a session is made or used: the app never imports this module,
and pyspark is installed from requirements-spark.txt, not with the app.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

from clinicflow.analytics.domain.lake import COLUMNS
from clinicflow.analytics.domain.lake import Kind as LakeKind
from clinicflow.analytics.domain.metric_sql import BOOKED_SQL, aggregate
from clinicflow.analytics.domain.metrics import Inputs, Metric, Question, lead_time_case
from clinicflow.analytics.queries import METRICS, derived
from clinicflow.shared.lake import SPARK

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

Cells = tuple[object, ...]

PERIOD = "BETWEEN :lo AND :hi"


_REVENUE_FACTS = f"SELECT *, date_format(day, 'yyyy-MM') AS month FROM money WHERE day {PERIOD}"
_PAID_VISITS = "count(DISTINCT CASE WHEN gross > 0 THEN booking_id END)"
_REVENUE = f"""CAST(round(sum(gross)) AS BIGINT) AS gross_cents,
       CAST(round(sum(refunded)) AS BIGINT) AS refunded_cents,
       CAST(round(sum(gross) - sum(refunded)) AS BIGINT) AS net_cents,
       {_PAID_VISITS} AS visits,
       round((sum(gross) - sum(refunded)) / nullif({_PAID_VISITS}, 0), 2)
         AS net_per_visit_cents"""

_LEAD_DAYS = "(unix_seconds(b.start_at) - unix_seconds(b.created_at)) / 86400.0D"
_NO_SHOW_FACTS = f"""
    SELECT b.service, b.practitioner, date_format(b.start_at, 'EEEE') AS weekday,
           {lead_time_case(_LEAD_DAYS)} AS lead_time,
           b.status,
           b.status = 'cancelled' AND b.cancelled_at IS NOT NULL
             AND unix_seconds(b.start_at) - unix_seconds(b.cancelled_at) < s.late_hours * 3600
             AS late_cancel
    FROM bookings b CROSS JOIN settings s
    WHERE b.created_at IS NOT NULL AND b.status IN ({BOOKED_SQL}, 'cancelled') AND b.day {PERIOD}
    """
_NO_SHOWS = """count(*) AS bookings,
       count_if(status = 'no_show') AS no_shows,
       count_if(late_cancel) AS late_cancels,
       round(count_if(status = 'no_show') / count(*), 4) AS no_show_rate,
       round(count_if(late_cancel) / count(*), 4) AS late_cancel_rate"""

# metric → (facts, measures): the metrics this engine answers.
SPARK_SQL: Mapping[str, tuple[str, str]] = {
    "revenue": (_REVENUE_FACTS, _REVENUE),
    "no-shows": (_NO_SHOW_FACTS, _NO_SHOWS),
}


def metric_sql(q: Question) -> str:
    """The Spark SQL answering `q` (a question about one of `SPARK_SQL`'s metrics)."""
    facts, measures = SPARK_SQL[q.metric.name]
    return aggregate(facts, measures)(q)


def spark_session(
    app: str = "clinicflow-metrics",
    master: str = "local[1]",
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """A Spark session: on this machine by default, small (no UI, one shuffle partition, no
    adaptive re-planning, no generated code, the JIT's quick tier: a clinic's lake is small
    and each stage costs more than its rows); `conf` on top (a cluster's settings, the
    Iceberg catalog)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app)
    local = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "1",
        "spark.sql.adaptive.enabled": "false",
        # No whole-stage code: compiling each plan's Java (Janino, then the JIT) cost more
        # than running it over a clinic's rows. (spark.sql.codegen.factoryMode=NO_CODEGEN
        # saved a little more, but Spark documents it for its own tests only.)
        "spark.sql.codegen.wholeStage": "false",
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    }
    for key, value in {**(local if master.startswith("local") else {}), **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def events_schema() -> StructType:
    """The lake's `events` columns as Spark types (an empty lake is an empty table of them)."""
    from pyspark.sql import types as t

    def typed(kind: LakeKind) -> t.DataType:
        if kind is LakeKind.INT:
            return t.LongType()
        if kind is LakeKind.INSTANT:
            return t.TimestampType()
        if kind is LakeKind.IDS:
            return t.ArrayType(t.StringType())
        return t.StringType()

    return t.StructType([t.StructField(name, typed(kind)) for name, kind in COLUMNS])


class SparkMetrics:
    """analytics' `MetricsEngine` for `revenue` and `no-shows`, run by Spark over the lake
    (its files, or `table` through the Iceberg runtime). The views every question reads are
    made once per snapshot (its files) and inputs, in a session of `spark` of their own
    (their temporary views and the clinic's time zone), and cached there: a dashboard's
    questions over one snapshot scan the lake once."""

    def __init__(self, spark: SparkSession, table: str | None = None) -> None:
        self._spark = spark
        self._table = table
        self._lock = threading.Lock()
        self._prepared: tuple[Hashable, SparkSession] | None = None

    def metric(self, name: str) -> Metric | None:
        return METRICS[name].metric if name in SPARK_SQL else None

    async def answer(self, q: Question, files: Sequence[str], inputs: Inputs) -> list[Cells]:
        return await asyncio.to_thread(self.rows, q, files, inputs)

    def rows(self, q: Question, files: Sequence[str], inputs: Inputs) -> list[Cells]:
        """The question's rows in the order of `q.columns` (blocking)."""
        with self._lock:
            session = self._session(files, inputs)
            found = session.sql(metric_sql(q), args={"lo": q.lo, "hi": q.hi}).collect()
        names = [c.name for c in q.columns]
        return [tuple(row[n] for n in names) for row in found]

    def events(self, session: SparkSession, files: Sequence[str]) -> DataFrame:
        if self._table is not None:
            return session.table(self._table)
        if not files:
            return session.createDataFrame([], events_schema())
        return session.read.parquet(*files)

    def _session(self, files: Sequence[str], inputs: Inputs) -> SparkSession:
        key = (tuple(files), inputs.tz, tuple(inputs.prices), inputs.late_cancel_hours)
        if self._prepared is not None and self._prepared[0] == key:
            return self._prepared[1]
        if self._prepared is not None:
            self._prepared[1].catalog.clearCache()
        import pyarrow as pa

        session = self._spark.newSession()
        session.conf.set("spark.sql.session.timeZone", inputs.tz)
        self.events(session, files).createOrReplaceTempView("events")
        # From Arrow tables, the rows go into the plan (a local relation); from Python lists,
        # Spark would start Python workers to unpickle them.
        prices = pa.table(
            {
                "service": pa.array([p[0] for p in inputs.prices], pa.string()),
                "visit_type": pa.array([p[1] for p in inputs.prices], pa.string()),
                "price_cents": pa.array([p[2] for p in inputs.prices], pa.int64()),
            }
        )
        session.createDataFrame(prices).createOrReplaceTempView("prices")
        late = pa.table({"late_hours": pa.array([inputs.late_cancel_hours], pa.int64())})
        session.createDataFrame(late).createOrReplaceTempView("settings")
        # The views of analytics/queries.py, in Spark SQL; local days are the session's time
        # zone (the clinic's, set above).
        for name, sql in derived(SPARK):
            session.sql(sql).cache().createOrReplaceTempView(name)
        self._prepared = (key, session)
        return session
