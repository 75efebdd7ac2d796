"""The analytics benchmark's PostgreSQL part (benchmarks/analytics.py): the metrics whose SQL
translates straight, put to PostgreSQL over the same rows, timed and checked against DuckDB's
answers; the benchmark's own database made and dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from decimal import Decimal

import asyncpg
import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow

from analytics_duckdb import Answers
from analytics_lake import TZ, YEAR, Lake, sql_type
from analytics_report import Figures
from clinicflow.analytics.domain.metrics import BOOKED

ADMIN_DSN = os.environ.get("CLINICFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


# The same questions in PostgreSQL's dialect over a table `bench_events` holding the same rows,
# for the metrics whose SQL translates straight: each view built per question, as DuckDB does.
# DuckDB's arg_max (the last non-null value) is an array_agg ... FILTER here.
_B = ", ".join(f"'{s}'" for s in BOOKED)
_LO, _HI = (f"DATE '{d.isoformat()}'" for d in YEAR)


def _last(col: str) -> str:
    return f"(array_agg({col} ORDER BY step DESC) FILTER (WHERE {col} IS NOT NULL))[1]"


_PG_BOOKINGS = f"""
bookings AS (
    SELECT booking_id, {_last("status")} AS status, {_last("service")} AS service,
           {_last("visit_type")} AS visit_type, {_last("practitioner")} AS practitioner,
           {_last("duration_min")} AS duration_min, {_last("start_at")} AS start_at,
           ({_last("start_at")} AT TIME ZONE '{TZ}')::date AS day,
           max(patient_key) AS patient_key, max(zip3) AS zip3, max(source) AS source,
           min(occurred_at) FILTER (WHERE type = 'booking.created') AS created_at,
           max(occurred_at) FILTER (WHERE type = 'booking.cancelled') AS cancelled_at
    FROM (
        SELECT *, (extract(epoch FROM occurred_at) * 1000000)::bigint * 10 + CASE type
                   WHEN 'booking.held' THEN 0 WHEN 'booking.created' THEN 1
                   WHEN 'booking.rescheduled' THEN 2 WHEN 'booking.checked_in' THEN 3
                   ELSE 4 END AS step
        FROM bench_events WHERE type LIKE 'booking.%' AND booking_id IS NOT NULL
    ) e
    GROUP BY booking_id
)"""
_PERIOD = f"BETWEEN {_LO} AND {_HI}"

PG_SQL: dict[str, str] = {
    "utilization": f"""
    WITH {_PG_BOOKINGS},
    b AS (SELECT practitioner, date_trunc('week', day)::date AS week, sum(duration_min) AS booked
          FROM bookings WHERE status IN ({_B}) AND day {_PERIOD} GROUP BY 1, 2),
    o AS (SELECT practitioner, date_trunc('week', day)::date AS week, sum(offered_min) AS offered
          FROM bench_supply WHERE day {_PERIOD} GROUP BY 1, 2)
    SELECT coalesce(o.practitioner, b.practitioner) AS practitioner,
           coalesce(o.week, b.week) AS week, coalesce(b.booked, 0)::bigint AS booked_min,
           coalesce(o.offered, 0)::bigint AS offered_min,
           round(coalesce(b.booked, 0)::numeric / nullif(o.offered, 0), 4) AS utilization
    FROM o FULL JOIN b ON o.practitioner = b.practitioner AND o.week = b.week
    ORDER BY 1, 2""",
    "revenue": f"""
    WITH {_PG_BOOKINGS},
    orders AS (
        SELECT DISTINCT ON (order_id) order_id, total_cents, booking_ids,
               occurred_at AS paid_at, zip3
        FROM bench_events WHERE type = 'payment.succeeded' AND order_id IS NOT NULL
        ORDER BY order_id, seq
    ), lines AS (
        SELECT order_id, total_cents, paid_at, zip3,
               unnest(CASE WHEN coalesce(cardinality(booking_ids), 0) = 0
                           THEN ARRAY[NULL::text] ELSE booking_ids END) AS booking_id
        FROM orders
    ), priced AS (
        SELECT l.*, b.service, b.practitioner, coalesce(p.price_cents, 0) AS price
        FROM lines l LEFT JOIN bookings b USING (booking_id)
        LEFT JOIN bench_prices p ON p.service = b.service AND p.visit_type = b.visit_type
    ), paid_lines AS (
        SELECT *, CASE WHEN sum(price) OVER w > 0 THEN price::float8 / sum(price) OVER w
                       ELSE 1.0 / count(*) OVER w END AS weight
        FROM priced WINDOW w AS (PARTITION BY order_id)
    ), money AS (
        SELECT booking_id, service, (paid_at AT TIME ZONE '{TZ}')::date AS day,
               total_cents * weight AS gross, 0.0::float8 AS refunded
        FROM paid_lines
        UNION ALL
        SELECT l.booking_id, l.service, (r.occurred_at AT TIME ZONE '{TZ}')::date, 0.0,
               r.amount_cents * CASE WHEN r.booking_id IS NULL THEN l.weight ELSE 1.0 END
        FROM bench_events r JOIN paid_lines l
          ON l.order_id = r.order_id AND (r.booking_id IS NULL OR l.booking_id = r.booking_id)
        WHERE r.type = 'payment.refunded' AND r.amount_cents IS NOT NULL
    )
    SELECT service, to_char(day, 'YYYY-MM') AS month,
           round(sum(gross)::numeric)::bigint AS gross_cents,
           round(sum(refunded)::numeric)::bigint AS refunded_cents,
           round((sum(gross) - sum(refunded))::numeric)::bigint AS net_cents,
           count(DISTINCT booking_id) FILTER (WHERE gross > 0) AS visits
    FROM money WHERE day {_PERIOD} GROUP BY 1, 2 ORDER BY 1, 2""",
    "acquisition": f"""
    WITH {_PG_BOOKINGS},
    firsts AS (
        SELECT patient_key, (array_agg(service ORDER BY start_at))[1] AS service,
               (array_agg(booking_id ORDER BY start_at))[1] AS booking_id,
               min(day) AS day, max(source) AS source
        FROM bookings WHERE status IN ({_B}) AND patient_key IS NOT NULL GROUP BY patient_key
    ), waitlisted AS (
        SELECT DISTINCT booking_id FROM bench_events
        WHERE type = 'waitlist.converted' AND booking_id IS NOT NULL
    )
    SELECT date_trunc('week', f.day)::date AS week, f.service,
           CASE WHEN w.booking_id IS NOT NULL THEN 'waitlist'
                ELSE coalesce(f.source, 'unknown') END AS source, count(*) AS new_patients
    FROM firsts f LEFT JOIN waitlisted w USING (booking_id)
    WHERE f.day {_PERIOD} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
    "cross-service": f"""
    WITH {_PG_BOOKINGS},
    used AS (
        SELECT patient_key, service FROM bookings
        WHERE status IN ({_B}) AND patient_key IS NOT NULL AND day {_PERIOD}
        GROUP BY patient_key, service
    ), facts AS (SELECT patient_key, count(*) AS services FROM used GROUP BY patient_key)
    SELECT count(*) AS patients, count(*) FILTER (WHERE services >= 2) AS multi_service_patients,
           round((count(*) FILTER (WHERE services >= 2))::numeric / count(*), 4) AS share
    FROM facts""",
    "no-shows": f"""
    WITH {_PG_BOOKINGS},
    facts AS (
        SELECT service, status,
               status = 'cancelled' AND cancelled_at IS NOT NULL
                 AND floor(extract(epoch FROM start_at)) - floor(extract(epoch FROM cancelled_at))
                     < 24 * 3600 AS late_cancel
        FROM bookings
        WHERE created_at IS NOT NULL AND status IN ({_B}, 'cancelled') AND day {_PERIOD}
    )
    SELECT service, count(*) AS bookings, count(*) FILTER (WHERE status = 'no_show') AS no_shows,
           count(*) FILTER (WHERE late_cancel) AS late_cancels,
           round((count(*) FILTER (WHERE status = 'no_show'))::numeric / count(*), 4)
             AS no_show_rate
    FROM facts GROUP BY service ORDER BY service""",
}
# The columns both answers share, to check PostgreSQL's against DuckDB's.
_SHARED = {
    "utilization": ("practitioner", "week", "booked_min", "offered_min", "utilization"),
    "revenue": ("service", "month", "gross_cents", "refunded_cents", "net_cents", "visits"),
    "acquisition": ("week", "service", "source", "new_patients"),
    "cross-service": ("patients", "multi_service_patients", "share"),
    "no-shows": ("service", "bookings", "no_shows", "late_cancels", "no_show_rate"),
}


async def run_postgres(
    dsn: str, lake: Lake, repeat: int, figures: Figures, duck: dict[str, list[tuple[object, ...]]]
) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        t0 = time.perf_counter()
        await conn.execute("DROP TABLE IF EXISTS bench_events, bench_supply, bench_prices")
        cols = ", ".join(f"{name} {sql_type(kind, 'postgres')}" for name, kind in _lake_columns())
        await conn.execute(f"CREATE TABLE bench_events ({cols})")
        await conn.copy_to_table("bench_events", source=str(lake.csv), format="csv")
        await conn.execute(
            "CREATE TABLE bench_supply (practitioner text, day date, offered_min bigint)"
        )
        await conn.copy_to_table("bench_supply", source=str(lake.supply_csv), format="csv")
        await conn.execute(
            "CREATE TABLE bench_prices (service text, visit_type text, price_cents bigint)"
        )
        await conn.executemany("INSERT INTO bench_prices VALUES ($1, $2, $3)", lake.inputs.prices)
        await conn.execute("ANALYZE bench_events; ANALYZE bench_supply; ANALYZE bench_prices")
        figures.load_seconds = time.perf_counter() - t0
        await conn.execute("SET work_mem = '256MB'")
        for metric, sql in PG_SQL.items():
            best = float("inf")
            rows: list[asyncpg.Record] = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                rows = await conn.fetch(sql)
                best = min(best, time.perf_counter() - t0)
            figures.postgres[metric] = best
            figures.postgres_rows[metric] = len(rows)
            figures.postgres_matches[metric] = _same(metric, rows, duck)
    finally:
        await conn.close()


def _same(metric: str, pg: Sequence[asyncpg.Record], duck: Answers) -> bool:
    """The shared columns agree row by row; a rate to its last place but one (DuckDB rounds
    the double, PostgreSQL the exact numeric: 45 / 2400 = 0.01875 is 0.0187 and 0.0188)."""
    names = list(duck[metric + "#columns"][0])
    shared = _SHARED[metric]
    at = [names.index(n) for n in shared]
    ours = [tuple(row[i] for i in at) for row in duck[metric]]
    theirs = [tuple(r[n] for n in shared) for r in pg]
    if metric == "acquisition":  # a patient's two first visits at one instant: either service
        return _weekly(ours) == _weekly(theirs)
    return len(ours) == len(theirs) and all(
        _close(a, b) for o, t in zip(ours, theirs, strict=True) for a, b in zip(o, t, strict=True)
    )


def _weekly(rows: Sequence[tuple[object, ...]]) -> dict[object, int]:
    """New patients per week (acquisition's rows: week, service, source, new_patients)."""
    out: dict[object, int] = {}
    for week, *_, n in rows:
        out[week] = out.get(week, 0) + int(str(n))
    return out


def _close(a: object, b: object) -> bool:
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        return abs(float(a) - float(b)) <= 1.01e-4
    return a == b


def _lake_columns() -> list[tuple[str, pa.DataType]]:
    from clinicflow.adapters.lake.iceberg import events_schema

    schema = schema_to_pyarrow(events_schema())
    return [(f.name, f.type) for f in schema]


async def database(admin: str, name: str, drop: bool) -> None:
    conn = await asyncpg.connect(admin)
    try:
        if drop:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
