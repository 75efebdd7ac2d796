"""Issue 18's analytics benchmark: every metric over a synthetic lake, with DuckDB (the
app's engine, `analytics/queries.py` as it is), beside the same questions put to PostgreSQL
directly for the metrics whose SQL translates straight (benchmarks/README.md "analytics.py").

The lake: de-identified rows written straight into an Iceberg table through the adapter
(`IcebergLake`), not through the use cases: clinics of 8 practitioners over 2026, each
visit a booking made some days ahead (lead time ~ exponential, mean 9 days), on weekdays
more at the start of the week, 09:00-16:45 local, then attended (checked in, completed), a
no-show (likelier the longer the lead time) or cancelled (a third of those late); most
attended visits paid, a few refunds; some holds, waitlist joins and conversions. Patients
come back about five times a year; ZIP3, age band and referral source per patient. All of it
made by DuckDB from hashes of the row number: the same rows on every run.

    .venv/bin/python benchmarks/analytics.py                      # a year, then 1M visits
    .venv/bin/python benchmarks/analytics.py --scales year --repeat 3 --no-postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import duckdb
import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow

from clinicflow.adapters.lake.iceberg import MARK, IcebergLake, open_catalog
from clinicflow.analytics.domain.metrics import BOOKED, Inputs, Offered, Question, question
from clinicflow.analytics.queries import METRICS, DuckDbMetrics, answer

TZ = "America/Chicago"
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
PRACTITIONERS = 8  # a clinic's
# service, minutes, list price of an initial visit and of a follow-up (cents)
SERVICES = (
    ("physiotherapy", 45, 12000, 9000),
    ("acupuncture", 60, 11000, 9500),
    ("counseling", 50, 15000, 13000),
    ("weight_loss", 30, 8000, 6000),
)
SCALES = {"year": (1, 20_000), "million": (50, 20_000)}  # clinics, visits per clinic
Answers = dict[str, list[tuple[object, ...]]]  # per question: its rows (and "#columns")
ADMIN_DSN = os.environ.get("CLINICFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


# -- the synthetic lake -----------------------------------------------------------------------

_U = "(hash(i, '{k}') % 1000003) / 1000003.0"  # a uniform draw in [0, 1) per row and key


def _u(key: str) -> str:
    return _U.format(k=key)


def _visits_sql(clinics: int, per_clinic: int) -> str:
    services = ", ".join(f"('{s}', {m}, {a}, {b})" for s, m, a, b in SERVICES)
    patients = max(per_clinic // 5, 1)
    return f"""
    CREATE MACRO _pick(h, n) AS CAST(1 + h % n AS BIGINT);
    CREATE TABLE svc AS
    SELECT row_number() OVER (ORDER BY service) - 1 AS idx, *
    FROM (VALUES {services}) t(service, minutes, p_initial, p_follow);
    CREATE TABLE visits AS
    WITH v AS (
        SELECT i, i // {per_clinic} AS clinic,
               CAST(floor({_u("p")} * {PRACTITIONERS}) AS INT) AS p,
               CAST(floor({_u("w")} * 52) AS INT) AS week,
               {_u("d")} AS ud, {_u("h")} AS uh, {_u("lead")} AS ul, {_u("out")} AS uo,
               {_u("pay")} AS up, {_u("ref")} AS ur, {_u("held")} AS uhd, {_u("wait")} AS uw,
               {_u("vt")} AS uv,
               CAST(floor({_u("pt")} * {patients}) AS INT) AS pt
        FROM range({clinics * per_clinic}) t(i)
    ), placed AS (
        SELECT *,
               -- Monday .24, Tuesday .22, Wednesday .20, Thursday .19, Friday .15
               CASE WHEN ud < .24 THEN 0 WHEN ud < .46 THEN 1 WHEN ud < .66 THEN 2
                    WHEN ud < .85 THEN 3 ELSE 4 END AS weekday,
               -ln(1 - ul) * 9 AS lead_days
        FROM v
    ), timed AS (
        SELECT p.*, s.service, s.minutes,
               CASE WHEN uv < .2 THEN 'initial' ELSE 'followup' END AS visit_type,
               CASE WHEN uv < .2 THEN s.p_initial ELSE s.p_follow END AS price,
               timezone('{TZ}', CAST(DATE '2026-01-05' + (week * 7 + weekday) AS TIMESTAMP)
                   + INTERVAL 9 HOUR + to_minutes(CAST(floor(uh * 32) AS INT) * 15)) AS start_at
        FROM placed p JOIN svc s ON s.idx = p.p % 4
    )
    SELECT i, clinic, 'c' || clinic || '-p' || p AS practitioner, service, visit_type, minutes,
           price, start_at, start_at + to_minutes(minutes) AS end_at,
           start_at - to_microseconds(CAST(lead_days * 86400e6 AS BIGINT)) AS created_at,
           CASE WHEN uo < 0.03 + 0.1 * least(lead_days / 30, 1) THEN 'no_show'
                WHEN uo < 0.15 + 0.1 * least(lead_days / 30, 1) THEN 'cancelled'
                ELSE 'completed' END AS outcome,
           uo, up, ur, uhd, uw,
           md5('patient-' || clinic || '-' || pt) AS patient_key,
           ['606', '787', '100', '941', '303', '021', '331', '980'][_pick(hash(clinic, pt), 8)]
             AS zip3,
           ['18-24', '25-34', '35-44', '45-54', '55-64', '65-74'][_pick(hash(pt, clinic), 6)]
             AS age_band,
           ['patient', 'practitioner', 'campaign', 'other', NULL][_pick(hash(pt), 5)] AS source
        FROM timed
    """


_BOOKING = """'b' || i AS booking_id, service, visit_type, practitioner,
              minutes AS duration_min, start_at, end_at, patient_key, zip3, age_band, source"""


def _visit_event(kind: str, at: str, status: str, where: str = "") -> str:
    """Booking's event `kind` for each visit (that matches `where`), at `at`."""
    return f"""
    INSERT INTO events BY NAME
    SELECT 'booking.{kind}' AS type, {at} AS occurred_at, '{status}' AS status, {_BOOKING}
    FROM visits{where};"""


def _events_sql() -> str:
    booking, completed = _BOOKING, " WHERE outcome = 'completed'"
    return f"""
    INSERT INTO events BY NAME
    SELECT 'booking.held' AS type, created_at - INTERVAL 5 MINUTE AS occurred_at,
           'held' AS status, 'b' || i AS booking_id, service, visit_type, practitioner,
           minutes AS duration_min, start_at, end_at
    FROM visits WHERE uhd < 0.3;
    {_visit_event("created", "created_at", "confirmed")}
    INSERT INTO events BY NAME
    SELECT 'booking.cancelled' AS type, 'cancelled' AS status, {booking},
           -- a third late (within a day of the start), the rest some days before
           CASE WHEN uo * 1000 % 3 < 1 THEN start_at - INTERVAL 6 HOUR
                ELSE greatest(created_at, start_at - INTERVAL 3 DAY) END AS occurred_at
    FROM visits WHERE outcome = 'cancelled';
    {_visit_event("no_show", "end_at", "no_show", " WHERE outcome = 'no_show'")}
    {_visit_event("checked_in", "start_at", "checked_in", completed)}
    {_visit_event("completed", "end_at", "completed", completed)}
    INSERT INTO events BY NAME
    SELECT 'payment.succeeded' AS type, end_at AS occurred_at, 'succeeded' AS status,
           'o' || i AS order_id, ['b' || i] AS booking_ids, price AS total_cents,
           'usd' AS currency, 'in_clinic' AS method, patient_key, zip3, age_band, source
    FROM visits WHERE outcome = 'completed' AND up < 0.7;
    INSERT INTO events BY NAME
    SELECT 'payment.refunded' AS type, end_at + INTERVAL 2 DAY AS occurred_at,
           'refunded' AS status, 'o' || i AS order_id, 'b' || i AS booking_id,
           'r' || i AS refund_id, price // 2 AS amount_cents, 'usd' AS currency,
           patient_key, zip3, age_band, source
    FROM visits WHERE outcome = 'completed' AND up < 0.7 AND ur < 0.03;
    INSERT INTO events BY NAME
    SELECT 'waitlist.joined' AS type, created_at - INTERVAL 12 DAY AS occurred_at,
           created_at - INTERVAL 12 DAY AS joined_at, md5('contact-' || i) AS contact_key,
           service, 'waiting' AS status, 3 AS interest_level
    FROM visits WHERE uw < 0.02;
    INSERT INTO events BY NAME
    SELECT 'waitlist.converted' AS type, created_at AS occurred_at,
           md5('contact-' || i) AS contact_key, 'b' || i AS booking_id, service,
           'converted' AS status, patient_key
    FROM visits WHERE uw < 0.01;
    """


@dataclass
class Lake:
    files: list[str]
    events: int
    visits: int
    inputs: Inputs
    csv: Path  # the same rows, for PostgreSQL
    supply_csv: Path


def build_lake(clinics: int, per_clinic: int, work: Path) -> Lake:
    """The synthetic rows, written into an Iceberg table (one commit) through the adapter."""
    lake = IcebergLake(
        lambda: open_catalog(f"sqlite:///{work / 'catalog.sqlite3'}", str(work / "warehouse"))
    )
    table = lake.table()
    schema = schema_to_pyarrow(table.schema())
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    cols = ", ".join(
        f"{f.name} {_sql_type(f.type)}" for f in schema if f.name not in ("seq", "event_id")
    )
    for sql in _visits_sql(clinics, per_clinic).split(";"):
        if sql.strip():
            con.execute(sql)
    con.execute(f"CREATE TABLE events ({cols})")
    for sql in _events_sql().split(";"):
        if sql.strip():
            con.execute(sql)
    con.execute("UPDATE events SET version = 1, recorded_at = occurred_at")
    rows = con.sql(
        "SELECT *, md5('event-' || seq) AS event_id FROM (SELECT row_number() OVER"
        " (ORDER BY occurred_at, type, booking_id, order_id) AS seq, * FROM events) ORDER BY seq"
    ).to_arrow_table()
    rows = rows.select(schema.names).cast(schema)
    table.append(rows, snapshot_properties={MARK: str(rows.num_rows)})
    csv = work / "events.csv"
    con.register("lake_rows", rows)
    con.execute(
        "COPY (SELECT * REPLACE (CASE WHEN booking_ids IS NULL THEN NULL ELSE"
        " '{' || array_to_string(booking_ids, ',') || '}' END AS booking_ids) FROM lake_rows)"
        f" TO '{csv}' (HEADER false)"
    )
    visits = con.execute("SELECT count(*) FROM visits").fetchone()
    inputs = _inputs(clinics)
    supply_csv = work / "supply.csv"
    with supply_csv.open("w") as out:
        for o in inputs.supply:
            out.write(f"{o.practitioner},{o.day.isoformat()},{o.minutes}\n")
    con.close()
    return Lake(
        lake.data_files(), rows.num_rows, int(visits[0]) if visits else 0, inputs, csv, supply_csv
    )


def _sql_type(kind: pa.DataType, dialect: str = "duckdb") -> str:
    """The lake column's type in DuckDB or PostgreSQL."""
    pg = dialect == "postgres"
    if pa.types.is_int64(kind):
        return "bigint" if pg else "BIGINT"
    if pa.types.is_timestamp(kind):
        return "timestamptz" if pg else "TIMESTAMPTZ"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return "text[]" if pg else "VARCHAR[]"
    return "text" if pg else "VARCHAR"


def _inputs(clinics: int) -> Inputs:
    """What the app hands DuckDB besides the lake: 8 hours a weekday per practitioner, the
    list prices, a few availability views a day, the churn windows."""
    supply: list[Offered] = []
    offers: list[tuple[str, str]] = []
    services = sorted(s[0] for s in SERVICES)
    for c in range(clinics):
        for p in range(PRACTITIONERS):
            key = f"c{c}-p{p}"
            offers.append((key, services[p % 4]))
            day = YEAR[0]
            while day <= YEAR[1]:
                if day.weekday() < 5:
                    supply.append(Offered(key, day, 480))
                day += timedelta(days=1)
    prices = [(s, "initial", a) for s, _, a, _ in SERVICES] + [
        (s, "followup", b) for s, _, _, b in SERVICES
    ]
    views = []
    day = YEAR[0]
    while day <= YEAR[1]:
        views += [(day, s, 20 * clinics) for s in services]
        day += timedelta(days=1)
    return Inputs(
        tz=TZ,
        supply=supply,
        offers=offers,
        prices=prices,
        views=views,
        churn_days={"weight_loss": 30},
    )


# -- the questions ------------------------------------------------------------------------------


def questions() -> list[Question]:
    """Every metric and view, as the API asks them by default, over the whole year."""
    out = []
    for defined in METRICS.values():
        for view in defined.metric.views:
            out.append(question(defined.metric, *YEAR, None, {"view": view}))
    return out


def label(q: Question) -> str:
    return q.metric.name if q.view in ("table", "cohorts") else f"{q.metric.name} ({q.view})"


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


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Figures:
    scale: str
    visits: int
    events: int
    files: int
    duckdb: dict[str, float] = field(default_factory=dict)  # best seconds per question
    duckdb_rows: dict[str, int] = field(default_factory=dict)
    duckdb_total: float = 0.0  # best total of one round, as the app asks (DuckDbMetrics)
    duckdb_fresh_total: float = 0.0  # the same, a new connection and derived views a question
    postgres: dict[str, float] = field(default_factory=dict)
    postgres_rows: dict[str, int] = field(default_factory=dict)
    postgres_matches: dict[str, bool] = field(default_factory=dict)
    load_seconds: float = 0.0


def _best(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run_duckdb(lake: Lake, repeat: int, figures: Figures) -> Answers:
    """Each round asks every question of a new `DuckDbMetrics` (as the app's engine: the
    derived tables built at the first question of the snapshot, then kept), timed per
    question and per round; then each round again with a new connection per question
    (`queries.answer`, the engine before it kept them), for the side-by-side total."""
    answers: Answers = {}
    totals = []
    for _ in range(repeat):
        engine = DuckDbMetrics()
        t_round = time.perf_counter()
        for q in questions():
            t0 = time.perf_counter()
            rows = engine._answer(q, lake.files, lake.inputs)
            took = time.perf_counter() - t0
            name = label(q)
            figures.duckdb[name] = min(figures.duckdb.get(name, took), took)
            figures.duckdb_rows[name] = len(rows)
            answers[name] = [tuple(r) for r in rows]
            names = [c.name for c in q.columns]
            answers[name + "#columns"] = [tuple(names)]
        totals.append(time.perf_counter() - t_round)
    figures.duckdb_total = min(totals)
    fresh = []
    for _ in range(repeat):
        t_round = time.perf_counter()
        for q in questions():
            answer(q, lake.files, lake.inputs)
        fresh.append(time.perf_counter() - t_round)
    figures.duckdb_fresh_total = min(fresh)
    return answers


async def run_postgres(
    dsn: str, lake: Lake, repeat: int, figures: Figures, duck: dict[str, list[tuple[object, ...]]]
) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        t0 = time.perf_counter()
        await conn.execute("DROP TABLE IF EXISTS bench_events, bench_supply, bench_prices")
        cols = ", ".join(f"{name} {_sql_type(kind, 'postgres')}" for name, kind in _lake_columns())
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


def report(f: Figures, repeat: int, out: list[str]) -> None:
    out.append(
        f"{f.scale}: {f.visits:,} visits, {f.events:,} lake rows in {f.files} Parquet files;"
        f" best of {repeat}"
    )
    out.append(f"  {'question':<26} {'DuckDB s':>9} {'rows':>6} {'PostgreSQL s':>13} {'same':>5}")
    for name, took in f.duckdb.items():
        pg = f.postgres.get(name)
        pg_text = f"{pg:13.3f}" if pg is not None else f"{'-':>13}"
        matched = f.postgres_matches.get(name)
        same = "" if matched is None else ("yes" if matched else "NO")
        out.append(f"  {name:<26} {took:9.3f} {f.duckdb_rows[name]:6d} {pg_text} {same:>5}")
    pg_total = sum(f.postgres.values())
    duck_same = sum(f.duckdb[m] for m in f.postgres)
    out.append(
        f"  all {len(f.duckdb)} questions with DuckDB, one round: {f.duckdb_total:.3f} s "
        f"(derived tables kept for the snapshot; a new connection a question: "
        f"{f.duckdb_fresh_total:.3f} s)"
    )
    if f.postgres:
        out.append(
            f"  the {len(f.postgres)} translated ones: DuckDB {duck_same:.3f} s,"
            f" PostgreSQL {pg_total:.3f} s (loading it: {f.load_seconds:.1f} s)"
        )


def measure(
    scales: Sequence[tuple[str, int, int]],
    work: Path,
    repeat: int,
    pg_dsn: str | None,
    out: list[str],
) -> list[Figures]:
    """Each scale (name, clinics, visits per clinic): the lake built, every question timed
    with DuckDB and, given a database, the translated ones with PostgreSQL."""
    found = []
    for name, clinics, per_clinic in scales:
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        lake = build_lake(clinics, per_clinic, folder)
        figures = Figures(name, lake.visits, lake.events, len(lake.files))
        duck = run_duckdb(lake, repeat, figures)
        if pg_dsn is not None:
            asyncio.run(run_postgres(pg_dsn, lake, repeat, figures, duck))
        report(figures, repeat, out)
        found.append(figures)
    return found


async def _database(admin: str, name: str, drop: bool) -> None:
    conn = await asyncpg.connect(admin)
    try:
        if drop:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="year,million", help="year, million (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--admin-dsn", default=ADMIN_DSN, help="PostgreSQL role that may create databases"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    scales = [(s, *SCALES[s]) for s in args.scales.split(",") if s]
    name = f"clinicflow_bench_analytics_{uuid.uuid4().hex[:8]}"
    dsn = None
    if not args.no_postgres:
        asyncio.run(_database(args.admin_dsn, name, drop=False))
        dsn = args.admin_dsn.rsplit("/", 1)[0] + "/" + name
    out: list[str] = [f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            measure(scales, Path(tmp), args.repeat, dsn, out)
    finally:
        if dsn is not None:
            asyncio.run(_database(args.admin_dsn, name, drop=True))
    out.append(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
