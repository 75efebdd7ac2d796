"""The analytics benchmark's data set (benchmarks/analytics.py): the synthetic lake, its rows made
by DuckDB from hashes of the row number and written into an Iceberg table through `IcebergLake`,
and what the app hands DuckDB besides the lake (`Inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow

from clinicflow.adapters.lake.iceberg import MARK, IcebergLake, open_catalog
from clinicflow.analytics.domain.metrics import Inputs, Offered

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
        f"{f.name} {sql_type(f.type)}" for f in schema if f.name not in ("seq", "event_id")
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


def sql_type(kind: pa.DataType, dialect: str = "duckdb") -> str:
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
