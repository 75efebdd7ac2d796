# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""The metrics of money: revenue net of refunds (and per paid visit), and patients, visits
and net revenue by ZIP3. SQL over the derived views of `analytics/queries.py` (`money`,
`bookings`); formulas in words: docs/analytics.md "Metrics".
"""

from __future__ import annotations

from clinicflow.analytics.domain.metric_sql import (
    BOOKED_SQL,
    MONTH,
    PERIOD,
    PRACTITIONER,
    SERVICE,
    aggregate,
    column,
    define,
)
from clinicflow.analytics.domain.metrics import Kind, Question, View

T, R, N = Kind.TEXT, Kind.RATE, Kind.NUMBER

_REVENUE_SQL = aggregate(
    f"SELECT *, strftime(day, '%Y-%m') AS month FROM money WHERE day {PERIOD}",
    """round(sum(gross))::BIGINT AS gross_cents,
       round(sum(refunded))::BIGINT AS refunded_cents,
       round(sum(gross) - sum(refunded))::BIGINT AS net_cents,
       count(DISTINCT booking_id) FILTER (WHERE gross > 0) AS visits,
       round((sum(gross) - sum(refunded))
             / nullif(count(DISTINCT booking_id) FILTER (WHERE gross > 0), 0), 2)
         AS net_per_visit_cents""",
)


def _geography(q: Question) -> str:
    return f"""
    WITH v AS (
        SELECT coalesce(zip3, 'unknown') AS zip3, count(DISTINCT patient_key) AS patients,
               count(*) AS visits
        FROM bookings WHERE status IN ({BOOKED_SQL}) AND day {PERIOD} GROUP BY 1
    ), m AS (
        SELECT coalesce(zip3, 'unknown') AS zip3, sum(gross) - sum(refunded) AS net
        FROM money WHERE day {PERIOD} GROUP BY 1
    )
    SELECT coalesce(v.zip3, m.zip3) AS zip3, coalesce(v.patients, 0) AS patients,
           coalesce(v.visits, 0) AS visits, coalesce(round(m.net), 0)::BIGINT AS revenue_cents
    FROM v FULL JOIN m ON v.zip3 = m.zip3
    ORDER BY zip3
    """


REVENUE = define(
    "revenue",
    "Revenue net of refunds, and net revenue per paid visit",
    {
        "table": (
            View(
                (SERVICE, PRACTITIONER, MONTH),
                ("service", "month"),
                (
                    column("gross_cents"),
                    column("refunded_cents"),
                    column("net_cents"),
                    column("visits"),
                    column("net_per_visit_cents", N),
                ),
            ),
            _REVENUE_SQL,
        )
    },
)

GEOGRAPHY = define(
    "geography",
    "Patients, visits and net revenue by ZIP3",
    {
        "table": (
            View(
                (column("zip3", T),),
                ("zip3",),
                (column("patients"), column("visits"), column("revenue_cents")),
            ),
            _geography,
        )
    },
    people="patients",
)
