# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""The metrics of visits and the time they take: utilization (booked minutes over offered
minutes), no-shows and late cancellations, and the funnel from availability viewed to visit
attended. SQL over the derived views of `analytics/queries.py` (`bookings`, `paid_lines`)
and its input tables (`supply`, `offers`, `views`, `settings`); formulas in words:
docs/analytics.md "Metrics".
"""

from __future__ import annotations

from clinicflow.analytics.domain.metric_sql import (
    ATTENDED_SQL,
    BOOKED_SQL,
    PERIOD,
    PRACTITIONER,
    SERVICE,
    WEEK,
    aggregate,
    cols,
    column,
    define,
    group,
    order,
)
from clinicflow.analytics.domain.metrics import Kind, Question, View, lead_time_case

T, R, N = Kind.TEXT, Kind.RATE, Kind.NUMBER


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
        FROM bookings WHERE status IN ({BOOKED_SQL}) AND day {PERIOD}
    ), offered AS ({offered}),
    b AS (SELECT {cols(d)}sum(duration_min) AS booked_min FROM booked {group(d)}),
    o AS (SELECT {cols(d)}sum(offered_min) AS offered_min FROM offered {group(d)})
    SELECT {keys}coalesce(b.booked_min, 0)::BIGINT AS booked_min,
           coalesce(o.offered_min, 0)::BIGINT AS offered_min,
           round(coalesce(b.booked_min, 0) / nullif(o.offered_min, 0), 4) AS utilization
    FROM o FULL JOIN b ON {on}
    {order(d)}
    """


_NO_SHOWS_SQL = aggregate(
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
    WHERE b.created_at IS NOT NULL AND b.status IN ({BOOKED_SQL}, 'cancelled') AND b.day {PERIOD}
    """,
    """count(*) AS bookings,
       count(*) FILTER (WHERE status = 'no_show') AS no_shows,
       count(*) FILTER (WHERE late_cancel) AS late_cancels,
       round(count(*) FILTER (WHERE status = 'no_show') / count(*), 4) AS no_show_rate,
       round(count(*) FILTER (WHERE late_cancel) / count(*), 4) AS late_cancel_rate""",
)


_FUNNEL_SQL = aggregate(
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
    WHERE status IN ({ATTENDED_SQL}) AND day {PERIOD}
    """,
    ",\n".join(
        f"coalesce(sum(n) FILTER (WHERE stage = '{s}'), 0)::BIGINT AS {s}"
        for s in ("viewed", "held", "booked", "paid", "attended")
    ),
)


UTILIZATION = define(
    "utilization",
    "Booked minutes (no-shows included) ÷ offered minutes",
    {
        "table": (
            View(
                (PRACTITIONER, SERVICE, WEEK),
                ("practitioner", "week"),
                (column("booked_min"), column("offered_min"), column("utilization", R)),
            ),
            _utilization,
        )
    },
)

NO_SHOWS = define(
    "no-shows",
    "No-show and late-cancellation rates",
    {
        "table": (
            View(
                (SERVICE, PRACTITIONER, column("weekday", T), column("lead_time", T)),
                ("service",),
                (
                    column("bookings"),
                    column("no_shows"),
                    column("late_cancels"),
                    column("no_show_rate", R),
                    column("late_cancel_rate", R),
                ),
            ),
            _NO_SHOWS_SQL,
        )
    },
)

FUNNEL = define(
    "funnel",
    "Availability viewed → held → booked → paid → attended",
    {
        "table": (
            View(
                (SERVICE, column("source", T)),
                ("service",),
                tuple(column(s) for s in ("viewed", "held", "booked", "paid", "attended")),
            ),
            _FUNNEL_SQL,
        )
    },
)
