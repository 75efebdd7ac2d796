# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""The metrics over the lake, in DuckDB: each metric defined once here (`METRICS`: its name,
views, dimensions, measures and the SQL that computes them), over a connection where the
lake's `events` table is a view of the current snapshot's Parquet files, and the inputs the
lake does not hold are small tables handed over from Python (`Inputs`: offered minutes from
the catalog's hours, list prices, availability views, churn windows). Formulas in words:
docs/analytics.md "Metrics".

Dimensions and views come only from the definitions below (never from the caller's text), and
the period and parameters are bound, so no question can change the SQL's shape otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from clinicflow.analytics.domain.lake import COLUMNS
from clinicflow.analytics.domain.lake import Kind as LakeKind
from clinicflow.analytics.domain.metrics import (
    ATTENDED,
    BOOKED,
    Column,
    Inputs,
    Kind,
    Metric,
    Question,
    View,
    lead_time_case,
)

# -- the connection -------------------------------------------------------------------------

_DUCK = {LakeKind.INT: "BIGINT", LakeKind.INSTANT: "TIMESTAMPTZ", LakeKind.IDS: "VARCHAR[]"}
_B = ", ".join(f"'{s}'" for s in BOOKED)
_A = ", ".join(f"'{s}'" for s in ATTENDED)


def connect(
    files: Sequence[str], tz: str, inputs: Inputs | None = None, *, materialize: bool = False
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake as the view `events` (an empty table of
    the lake's columns when the lake has no file yet), the derived views every metric reads
    (`bookings`, `paid_lines`, `money`) and `inputs` as tables. Reads no other file after.
    `materialize`: the derived ones are built once as tables, for a connection that answers
    many questions over one snapshot (`DuckDbMetrics`)."""
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
    for sql in _PRELUDE:
        con.execute(sql.replace("CREATE VIEW", "CREATE TABLE", 1) if materialize else sql)
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


# Each booking as it stands after its last event; each paid order spread over its visits by
# list price (equally when none has one); every amount of money with its local day.
_PRELUDE = (
    """
    CREATE VIEW bookings AS
    SELECT booking_id,
           arg_max(status, step) AS status,
           arg_max(service, step) AS service,
           arg_max(visit_type, step) AS visit_type,
           arg_max(practitioner, step) AS practitioner,
           arg_max(duration_min, step) AS duration_min,
           arg_max(start_at, step) AS start_at,
           local_day(arg_max(start_at, step)) AS day,
           max(patient_key) AS patient_key,
           max(zip3) AS zip3,
           max(source) AS source,
           min(occurred_at) FILTER (WHERE type = 'booking.created') AS created_at,
           min(occurred_at) FILTER (WHERE type = 'booking.held') AS held_at,
           max(occurred_at) FILTER (WHERE type = 'booking.cancelled') AS cancelled_at
    FROM (
        -- A booking's events in the order they happened: by time, and at one instant by
        -- the life cycle's order (a check-in and its completion can share a clock tick)
        SELECT *, epoch_us(occurred_at) * 10 + CASE type
                   WHEN 'booking.held' THEN 0 WHEN 'booking.created' THEN 1
                   WHEN 'booking.rescheduled' THEN 2 WHEN 'booking.checked_in' THEN 3
                   ELSE 4 END AS step
        FROM events WHERE type LIKE 'booking.%' AND booking_id IS NOT NULL
    )
    GROUP BY booking_id
    """,
    """
    CREATE VIEW paid_lines AS
    WITH orders AS (
        SELECT order_id,
               arg_min(total_cents, seq) AS total_cents,
               arg_min(booking_ids, seq) AS booking_ids,
               min(occurred_at) AS paid_at,
               max(zip3) AS zip3
        FROM events WHERE type = 'payment.succeeded' AND order_id IS NOT NULL
        GROUP BY order_id
    ), lines AS (
        SELECT order_id, total_cents, paid_at, zip3,
               unnest(CASE WHEN len(coalesce(booking_ids, [])) = 0 THEN [NULL::VARCHAR]
                           ELSE booking_ids END) AS booking_id
        FROM orders
    ), priced AS (
        SELECT l.*, b.service, b.practitioner, b.source, coalesce(p.price_cents, 0) AS price
        FROM lines l
        LEFT JOIN bookings b USING (booking_id)
        LEFT JOIN prices p ON p.service = b.service AND p.visit_type = b.visit_type
    )
    SELECT *,
           CASE WHEN sum(price) OVER (PARTITION BY order_id) > 0
                THEN price / sum(price) OVER (PARTITION BY order_id)
                ELSE 1.0 / count(*) OVER (PARTITION BY order_id) END AS weight
    FROM priced
    """,
    """
    CREATE VIEW money AS
    SELECT booking_id, service, practitioner, zip3, local_day(paid_at) AS day,
           total_cents * weight AS gross, 0.0 AS refunded
    FROM paid_lines
    UNION ALL
    SELECT l.booking_id, l.service, l.practitioner, l.zip3, local_day(r.occurred_at),
           0.0, r.amount_cents * CASE WHEN r.booking_id IS NULL THEN l.weight ELSE 1.0 END
    FROM events r
    JOIN paid_lines l
      ON l.order_id = r.order_id AND (r.booking_id IS NULL OR l.booking_id = r.booking_id)
    WHERE r.type = 'payment.refunded' AND r.amount_cents IS NOT NULL
    """,
)


# -- building a query -----------------------------------------------------------------------

Sql = Callable[[Question], str]
PERIOD = "BETWEEN $lo AND $hi"


def _cols(dims: Sequence[str]) -> str:
    return "".join(f"{d}, " for d in dims)


def _group(dims: Sequence[str]) -> str:
    return f"GROUP BY {', '.join(dims)}" if dims else ""


def _order(dims: Sequence[str]) -> str:
    return f"ORDER BY {', '.join(f'{d} NULLS LAST' for d in dims)}" if dims else ""


def _aggregate(facts: str, measures: str) -> Sql:
    """`SELECT dims, measures FROM (facts) GROUP BY dims`: the common shape."""

    def sql(q: Question) -> str:
        d = q.group_by
        body = f"SELECT {_cols(d)}{measures} FROM facts {_group(d)} {_order(d)}"
        return f"WITH facts AS ({facts}) {body}"

    return sql


def _utilization(q: Question) -> str:
    d = q.group_by
    per_service = "service" in d
    offered = (
        "SELECT s.practitioner, o.service, date_trunc('week', s.day)::DATE AS week, s.offered_min"
        " FROM supply s JOIN offers o USING (practitioner)"
        if per_service
        else "SELECT practitioner, NULL::VARCHAR AS service,"
        " date_trunc('week', day)::DATE AS week, offered_min FROM supply"
    )
    on = " AND ".join(f"o.{x} IS NOT DISTINCT FROM b.{x}" for x in d) or "true"
    keys = "".join(f"coalesce(o.{x}, b.{x}) AS {x}, " for x in d)
    return f"""
    WITH booked AS (
        SELECT practitioner, service, date_trunc('week', day)::DATE AS week, duration_min
        FROM bookings WHERE status IN ({_B}) AND day {PERIOD}
    ), offered AS ({offered}),
    b AS (SELECT {_cols(d)}sum(duration_min) AS booked_min FROM booked {_group(d)}),
    o AS (SELECT {_cols(d)}sum(offered_min) AS offered_min FROM offered {_group(d)})
    SELECT {keys}coalesce(b.booked_min, 0)::BIGINT AS booked_min,
           coalesce(o.offered_min, 0)::BIGINT AS offered_min,
           round(coalesce(b.booked_min, 0) / nullif(o.offered_min, 0), 4) AS utilization
    FROM o FULL JOIN b ON {on}
    {_order(d)}
    """


_REVENUE = _aggregate(
    f"SELECT *, strftime(day, '%Y-%m') AS month FROM money WHERE day {PERIOD}",
    """round(sum(gross))::BIGINT AS gross_cents,
       round(sum(refunded))::BIGINT AS refunded_cents,
       round(sum(gross) - sum(refunded))::BIGINT AS net_cents,
       count(DISTINCT booking_id) FILTER (WHERE gross > 0) AS visits,
       round((sum(gross) - sum(refunded))
             / nullif(count(DISTINCT booking_id) FILTER (WHERE gross > 0), 0), 2)
         AS net_per_visit_cents""",
)

_ACQUISITION = _aggregate(
    f"""
    WITH firsts AS (
        SELECT patient_key, arg_min(service, start_at) AS service,
               arg_min(booking_id, start_at) AS booking_id, min(day) AS day,
               max(source) AS source
        FROM bookings WHERE status IN ({_B}) AND patient_key IS NOT NULL
        GROUP BY patient_key
    ), waitlisted AS (
        SELECT DISTINCT booking_id FROM events
        WHERE type = 'waitlist.converted' AND booking_id IS NOT NULL
    )
    SELECT f.service, date_trunc('week', f.day)::DATE AS week,
           CASE WHEN w.booking_id IS NOT NULL THEN 'waitlist'
                ELSE coalesce(f.source, 'unknown') END AS source
    FROM firsts f LEFT JOIN waitlisted w USING (booking_id)
    WHERE f.day {PERIOD}
    """,
    "count(*) AS new_patients",
)

_WAITLIST = _aggregate(
    f"""
    WITH joined AS (
        SELECT contact_key, arg_min(service, seq) AS service,
               min(coalesce(joined_at, occurred_at)) AS joined_at
        FROM events WHERE type = 'waitlist.joined' AND contact_key IS NOT NULL
        GROUP BY contact_key
    ), withdrawn AS (
        SELECT contact_key, min(occurred_at) AS at FROM events
        WHERE type = 'waitlist.withdrawn' GROUP BY contact_key
    ), converted AS (
        SELECT contact_key, min(occurred_at) AS at, arg_min(booking_id, seq) AS booking_id
        FROM events WHERE type = 'waitlist.converted' GROUP BY contact_key
    )
    SELECT j.service, date_trunc('week', local_day(j.joined_at))::DATE AS week,
           w.at IS NOT NULL AS withdrew, c.at IS NOT NULL AS converted,
           coalesce(b.status IN ({_A}), false) AS first_visit,
           date_diff('second', j.joined_at, c.at) / 86400.0 AS days_to_conversion
    FROM joined j
    LEFT JOIN withdrawn w USING (contact_key)
    LEFT JOIN converted c USING (contact_key)
    LEFT JOIN bookings b ON b.booking_id = c.booking_id
    WHERE local_day(j.joined_at) {PERIOD}
    """,
    """count(*) AS joined,
       count(*) FILTER (WHERE withdrew) AS withdrawn,
       count(*) FILTER (WHERE converted) AS converted,
       count(*) FILTER (WHERE first_visit) AS first_visits,
       round(count(*) FILTER (WHERE converted) / count(*), 4) AS conversion_rate,
       round(avg(days_to_conversion), 1) AS avg_days_to_conversion""",
)

_CROSS_SERVICE = _aggregate(
    f"""
    WITH used AS (
        SELECT patient_key, service, min(start_at) AS first_at FROM bookings
        WHERE status IN ({_B}) AND patient_key IS NOT NULL AND day {PERIOD}
        GROUP BY patient_key, service
    ), ranked AS (
        SELECT *, row_number() OVER (PARTITION BY patient_key ORDER BY first_at, service) AS n
        FROM used
    )
    SELECT patient_key,
           max(service) FILTER (WHERE n = 1) AS first_service,
           max(service) FILTER (WHERE n = 2) AS second_service,
           count(*) AS services
    FROM ranked GROUP BY patient_key
    """,
    """count(*) AS patients,
       count(*) FILTER (WHERE services >= 2) AS multi_service_patients,
       round(count(*) FILTER (WHERE services >= 2) / count(*), 4) AS share""",
)


def _churn(q: Question) -> str:
    window = str(q.ints["days"]) if "days" in q.ints else "coalesce(w.days, s.churn_default)"
    facts = f"""
    WITH seen AS (
        SELECT patient_key, service, max(start_at) AS last_at, max(day) AS last_day
        FROM bookings
        WHERE status IN ({_A}) AND patient_key IS NOT NULL AND day <= $hi
        GROUP BY patient_key, service
        HAVING max(day) >= $lo
    )
    SELECT l.service, {window} AS window_days,
           date_diff('day', l.last_day, $hi) AS idle_days,
           EXISTS (SELECT 1 FROM bookings n
                   WHERE n.patient_key = l.patient_key AND n.service = l.service
                     AND n.start_at > l.last_at AND n.status IN ({_B})) AS booked_ahead
    FROM seen l LEFT JOIN churn_window w USING (service) CROSS JOIN settings s
    """
    churned = "NOT booked_ahead AND idle_days > window_days"
    return _aggregate(
        facts,
        f"""count(*) AS patients,
            count(*) FILTER (WHERE {churned}) AS churned,
            round(count(*) FILTER (WHERE {churned}) / count(*), 4) AS churn_rate,
            max(window_days)::BIGINT AS window_days""",
    )(q)


def _cohorts(q: Question) -> str:
    d = q.group_by
    return f"""
    WITH attended AS (
        SELECT patient_key, day FROM bookings
        WHERE status IN ({_A}) AND patient_key IS NOT NULL
    ), firsts AS (
        SELECT patient_key, min(day) AS first_day FROM attended GROUP BY patient_key
        HAVING min(day) {PERIOD}
    ), facts AS (
        SELECT strftime(f.first_day, '%Y-%m') AS cohort_month,
               date_diff('month', date_trunc('month', f.first_day),
                         date_trunc('month', a.day))::BIGINT AS months_after,
               f.patient_key
        FROM firsts f JOIN attended a USING (patient_key)
    ), sizes AS (
        SELECT cohort_month, count(DISTINCT patient_key) AS patients FROM facts
        GROUP BY cohort_month
    )
    SELECT {_cols(d)}any_value(s.patients) AS patients,
           count(DISTINCT patient_key) AS retained,
           round(count(DISTINCT patient_key) / any_value(s.patients), 4) AS retention_rate
    FROM facts JOIN sizes s USING (cohort_month)
    {_group(d)} {_order(d)}
    """


_REBOOK = _aggregate(
    f"""
    SELECT a.service, a.practitioner, strftime(a.day, '%Y-%m') AS month,
           EXISTS (SELECT 1 FROM bookings n
                   WHERE n.patient_key = a.patient_key AND n.booking_id <> a.booking_id
                     AND n.start_at > a.start_at AND n.created_at IS NOT NULL
                     AND local_day(n.created_at) <= a.day) AS rebooked
    FROM bookings a
    WHERE a.status IN ({_A}) AND a.patient_key IS NOT NULL AND a.day {PERIOD}
    """,
    """count(*) AS attended,
       count(*) FILTER (WHERE rebooked) AS rebooked,
       round(count(*) FILTER (WHERE rebooked) / count(*), 4) AS rebook_rate""",
)

_NO_SHOWS = _aggregate(
    f"""
    SELECT b.service, b.practitioner, dayname(timezone(current_setting('TimeZone'), b.start_at))
             AS weekday,
           {lead_time_case("date_diff('second', b.created_at, b.start_at) / 86400.0")}
             AS lead_time,
           b.status,
           b.status = 'cancelled' AND b.cancelled_at IS NOT NULL
             AND date_diff('second', b.cancelled_at, b.start_at) < s.late_hours * 3600
             AS late_cancel
    FROM bookings b CROSS JOIN settings s
    WHERE b.created_at IS NOT NULL AND b.status IN ({_B}, 'cancelled') AND b.day {PERIOD}
    """,
    """count(*) AS bookings,
       count(*) FILTER (WHERE status = 'no_show') AS no_shows,
       count(*) FILTER (WHERE late_cancel) AS late_cancels,
       round(count(*) FILTER (WHERE status = 'no_show') / count(*), 4) AS no_show_rate,
       round(count(*) FILTER (WHERE late_cancel) / count(*), 4) AS late_cancel_rate""",
)


def _geography(q: Question) -> str:
    return f"""
    WITH v AS (
        SELECT coalesce(zip3, 'unknown') AS zip3, count(DISTINCT patient_key) AS patients,
               count(*) AS visits
        FROM bookings WHERE status IN ({_B}) AND day {PERIOD} GROUP BY 1
    ), m AS (
        SELECT coalesce(zip3, 'unknown') AS zip3, sum(gross) - sum(refunded) AS net
        FROM money WHERE day {PERIOD} GROUP BY 1
    )
    SELECT coalesce(v.zip3, m.zip3) AS zip3, coalesce(v.patients, 0) AS patients,
           coalesce(v.visits, 0) AS visits, coalesce(round(m.net), 0)::BIGINT AS revenue_cents
    FROM v FULL JOIN m ON v.zip3 = m.zip3
    ORDER BY zip3
    """


_FUNNEL = _aggregate(
    f"""
    SELECT service, NULL::VARCHAR AS source, 'viewed' AS stage, views AS n
    FROM views WHERE day {PERIOD}
    UNION ALL
    SELECT service, NULL, 'held', 1 FROM bookings
    WHERE held_at IS NOT NULL AND local_day(held_at) {PERIOD}
    UNION ALL
    SELECT service, coalesce(source, 'unknown'), 'booked', 1 FROM bookings
    WHERE created_at IS NOT NULL AND local_day(created_at) {PERIOD}
    UNION ALL
    SELECT any_value(service), coalesce(any_value(source), 'unknown'), 'paid', 1
    FROM paid_lines WHERE booking_id IS NOT NULL AND local_day(paid_at) {PERIOD}
    GROUP BY booking_id
    UNION ALL
    SELECT service, coalesce(source, 'unknown'), 'attended', 1 FROM bookings
    WHERE status IN ({_A}) AND day {PERIOD}
    """,
    ",\n".join(
        f"coalesce(sum(n) FILTER (WHERE stage = '{s}'), 0)::BIGINT AS {s}"
        for s in ("viewed", "held", "booked", "paid", "attended")
    ),
)


# -- the registry ---------------------------------------------------------------------------


def _c(name: str, kind: Kind = Kind.INT) -> Column:
    return Column(name, kind)


T, R, N, D = Kind.TEXT, Kind.RATE, Kind.NUMBER, Kind.DATE
SERVICE, PRACTITIONER = _c("service", T), _c("practitioner", T)
WEEK, MONTH = _c("week", D), _c("month", T)


@dataclass(frozen=True, slots=True)
class Defined:
    metric: Metric
    sql: Mapping[str, Sql]  # per view


def _define(
    name: str,
    summary: str,
    views: Mapping[str, tuple[View, Sql]],
    int_params: Mapping[str, tuple[int, int]] | None = None,
    people: str | None = None,
) -> Defined:
    views_ = {k: v for k, (v, _) in views.items()}
    metric = Metric(name, summary, views_, int_params or {}, people)
    return Defined(metric, {k: s for k, (_, s) in views.items()})


METRICS: dict[str, Defined] = {
    d.metric.name: d
    for d in (
        _define(
            "utilization",
            "Booked minutes (no-shows included) ÷ offered minutes",
            {
                "table": (
                    View(
                        (PRACTITIONER, SERVICE, WEEK),
                        ("practitioner", "week"),
                        (_c("booked_min"), _c("offered_min"), _c("utilization", R)),
                    ),
                    _utilization,
                )
            },
        ),
        _define(
            "revenue",
            "Revenue net of refunds, and net revenue per paid visit",
            {
                "table": (
                    View(
                        (SERVICE, PRACTITIONER, MONTH),
                        ("service", "month"),
                        (
                            _c("gross_cents"),
                            _c("refunded_cents"),
                            _c("net_cents"),
                            _c("visits"),
                            _c("net_per_visit_cents", N),
                        ),
                    ),
                    _REVENUE,
                )
            },
        ),
        _define(
            "acquisition",
            "New patients (first booked visit) per week, by service and source",
            {
                "table": (
                    View(
                        (WEEK, SERVICE, _c("source", T)),
                        ("week", "service", "source"),
                        (_c("new_patients"),),
                    ),
                    _ACQUISITION,
                )
            },
        ),
        _define(
            "waitlist",
            "Waitlist entries joined, withdrawn and converted, and time to conversion",
            {
                "table": (
                    View(
                        (SERVICE, WEEK),
                        ("service",),
                        (
                            _c("joined"),
                            _c("withdrawn"),
                            _c("converted"),
                            _c("first_visits"),
                            _c("conversion_rate", R),
                            _c("avg_days_to_conversion", N),
                        ),
                    ),
                    _WAITLIST,
                )
            },
        ),
        _define(
            "cross-service",
            "Patients using two or more services; first → second service",
            {
                "table": (
                    View(
                        (_c("first_service", T), _c("second_service", T)),
                        (),
                        (_c("patients"), _c("multi_service_patients"), _c("share", R)),
                    ),
                    _CROSS_SERVICE,
                )
            },
        ),
        _define(
            "churn",
            "Patients seen in the period with no visit and nothing booked for N days",
            {
                "table": (
                    View(
                        (SERVICE,),
                        ("service",),
                        (
                            _c("patients"),
                            _c("churned"),
                            _c("churn_rate", R),
                            _c("window_days"),
                        ),
                    ),
                    _churn,
                )
            },
            {"days": (1, 3650)},
        ),
        _define(
            "retention",
            "Cohorts by month of first visit; rebook rate",
            {
                "cohorts": (
                    View(
                        (_c("cohort_month", T), _c("months_after")),
                        ("cohort_month", "months_after"),
                        (_c("patients"), _c("retained"), _c("retention_rate", R)),
                    ),
                    _cohorts,
                ),
                "rebook": (
                    View(
                        (SERVICE, PRACTITIONER, MONTH),
                        ("service",),
                        (_c("attended"), _c("rebooked"), _c("rebook_rate", R)),
                    ),
                    _REBOOK,
                ),
            },
        ),
        _define(
            "no-shows",
            "No-show and late-cancellation rates",
            {
                "table": (
                    View(
                        (SERVICE, PRACTITIONER, _c("weekday", T), _c("lead_time", T)),
                        ("service",),
                        (
                            _c("bookings"),
                            _c("no_shows"),
                            _c("late_cancels"),
                            _c("no_show_rate", R),
                            _c("late_cancel_rate", R),
                        ),
                    ),
                    _NO_SHOWS,
                )
            },
        ),
        _define(
            "geography",
            "Patients, visits and net revenue by ZIP3",
            {
                "table": (
                    View(
                        (_c("zip3", T),),
                        ("zip3",),
                        (_c("patients"), _c("visits"), _c("revenue_cents")),
                    ),
                    _geography,
                )
            },
            people="patients",
        ),
        _define(
            "funnel",
            "Availability viewed → held → booked → paid → attended",
            {
                "table": (
                    View(
                        (SERVICE, _c("source", T)),
                        ("service",),
                        tuple(_c(s) for s in ("viewed", "held", "booked", "paid", "attended")),
                    ),
                    _FUNNEL,
                )
            },
        ),
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
    return [s.type.name for s in duckdb.extract_statements(sql)]
