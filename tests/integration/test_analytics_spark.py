"""Scale-out (docs/analytics.md "Scale-out"): Spark reads the same lake DuckDB reads and
gives the same numbers. The planted month (support/planted_month.py) is written to the lake,
then `revenue` and `no-shows` are asked of `AnalyticsReports` twice, once with the DuckDB
engine and once with `SparkMetrics` (local[1]), over the files of the table's current
snapshot; every grouping gives the same rows, values and types alike.

Needs pyspark (requirements-spark.txt, installed by `make test`) and a Java runtime (.ci/run
installs Debian's default-jre-headless when `java` is missing): skipped without them here,
failed in CI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import httpx
import pytest

from clinicflow.adapters.lake.spark_metrics import SparkMetrics, spark_session
from clinicflow.analytics.views import Report
from clinicflow.bootstrap import Container
from clinicflow.calendars.ports import BusyFeed
from clinicflow.cli_analytics import Refused, spark_answer
from clinicflow.settings import Settings
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import FixedClock
from support.planted_month import outlook, plant

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FEBRUARY = (date(2027, 2, 1), date(2027, 2, 28))
ANALYST = Actor(kind="user", id="owner", role=Role.ANALYST)


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI (make test, .ci/run)")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing("pyspark (pip install -r requirements-spark.txt)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _missing("a Java runtime (apt-get install default-jre-headless)")
    session = spark_session("clinicflow-test")
    yield session
    session.stop()


@pytest.fixture
def calendar_feeds() -> Sequence[BusyFeed]:
    return [outlook()]


def _typed(report: Report) -> list[list[tuple[str, object]]]:
    """The rows with each value's type: 3 and 3.0 differ here."""
    return [[(type(v).__name__, v) for v in row] for row in report.rows]


async def test_spark_gives_the_numbers_duckdb_gives_from_the_same_lake(
    container: Container,
    clock: FixedClock,
    client: httpx.AsyncClient,
    settings: Settings,
    spark: SparkSession,
) -> None:
    await plant(container, clock, client)
    assert await container.analytics.writer.sync() > 0
    duck = container.analytics.reports
    engine = SparkMetrics(spark)
    sparked = replace(duck, engine=engine)

    groupings: list[tuple[str, tuple[str, ...] | None]] = [
        ("revenue", None),  # by service and month
        ("revenue", ("service", "practitioner", "month")),
        ("revenue", ()),
        ("no-shows", None),  # by service
        ("no-shows", ("service", "practitioner", "weekday", "lead_time")),
    ]
    answers: dict[tuple[str, tuple[str, ...] | None], Report] = {}
    for metric, group_by in groupings:
        by_duckdb = await duck.run(ANALYST, metric, *FEBRUARY, group_by)
        by_spark = await sparked.run(ANALYST, metric, *FEBRUARY, group_by)
        assert by_spark.rows, (metric, group_by)
        assert by_spark == by_duckdb, (metric, group_by)
        assert _typed(by_spark) == _typed(by_duckdb), (metric, group_by)
        answers[metric, group_by] = by_spark

    # and they are the planted figures (so both engines are right, not just alike)
    assert answers["revenue", None].rows == (
        ("alternative_medicine", "2027-02", 35700, 0, 35700, 3, 11900.0),
        ("gaps_coaching", "2027-02", 78000, 5000, 73000, 4, 18250.0),
    )
    assert answers["no-shows", None].rows == (
        ("alternative_medicine", 13, 2, 1, 0.1538, 0.0769),
        ("gaps_coaching", 12, 1, 0, 0.0833, 0.0),
    )

    # A month with nothing in it: no rows from either; a metric Spark does not run: unknown.
    empty = (date(2026, 6, 1), date(2026, 6, 30))
    assert (await sparked.run(ANALYST, "revenue", *empty)).rows == ()
    assert (await duck.run(ANALYST, "revenue", *empty)).rows == ()
    assert engine.metric("utilization") is None

    # `clinicflow analytics spark`: the same answer from the lake the settings name
    names, rows = spark_answer(spark, settings, "no-shows", FEBRUARY)
    assert names == [c.name for c in answers["no-shows", None].columns]
    assert tuple(rows) == answers["no-shows", None].rows
    with pytest.raises(Refused, match="Spark answers revenue, no-shows"):
        spark_answer(spark, settings, "utilization", FEBRUARY)
