# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""The metrics of patients over time: new patients (acquisition), the waitlist's
conversions, patients using several services, churn, and retention (cohorts, rebooking).
SQL over the derived views of `analytics/queries.py` (`bookings`) and the lake's `events`;
formulas in words: docs/analytics.md "Metrics".
"""

from __future__ import annotations

from clinicflow.analytics.domain.metric_sql import (
    ATTENDED_SQL,
    BOOKED_SQL,
    MONTH,
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
from clinicflow.analytics.domain.metrics import Kind, Question, View

T, R, N = Kind.TEXT, Kind.RATE, Kind.NUMBER

_ACQUISITION_SQL = aggregate(
    f"""
    WITH firsts AS (
        SELECT patient_key, arg_min(service, start_at) AS service,
               arg_min(booking_id, start_at) AS booking_id, min(day) AS day,
               max(source) AS source
        FROM bookings WHERE status IN ({BOOKED_SQL}) AND patient_key IS NOT NULL
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


_WAITLIST_SQL = aggregate(
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
           coalesce(b.status IN ({ATTENDED_SQL}), false) AS first_visit,
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


_CROSS_SERVICE_SQL = aggregate(
    f"""
    WITH used AS (
        SELECT patient_key, service, min(start_at) AS first_at FROM bookings
        WHERE status IN ({BOOKED_SQL}) AND patient_key IS NOT NULL AND day {PERIOD}
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
        WHERE status IN ({ATTENDED_SQL}) AND patient_key IS NOT NULL AND day <= $hi
        GROUP BY patient_key, service
        HAVING max(day) >= $lo
    )
    SELECT l.service, {window} AS window_days,
           date_diff('day', l.last_day, $hi) AS idle_days,
           EXISTS (SELECT 1 FROM bookings n
                   WHERE n.patient_key = l.patient_key AND n.service = l.service
                     AND n.start_at > l.last_at AND n.status IN ({BOOKED_SQL})) AS booked_ahead
    FROM seen l LEFT JOIN churn_window w USING (service) CROSS JOIN settings s
    """
    churned = "NOT booked_ahead AND idle_days > window_days"
    return aggregate(
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
        WHERE status IN ({ATTENDED_SQL}) AND patient_key IS NOT NULL
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
    SELECT {cols(d)}any_value(s.patients) AS patients,
           count(DISTINCT patient_key) AS retained,
           round(count(DISTINCT patient_key) / any_value(s.patients), 4) AS retention_rate
    FROM facts JOIN sizes s USING (cohort_month)
    {group(d)} {order(d)}
    """


_REBOOK_SQL = aggregate(
    f"""
    SELECT a.service, a.practitioner, strftime(a.day, '%Y-%m') AS month,
           EXISTS (SELECT 1 FROM bookings n
                   WHERE n.patient_key = a.patient_key AND n.booking_id <> a.booking_id
                     AND n.start_at > a.start_at AND n.created_at IS NOT NULL
                     AND local_day(n.created_at) <= a.day) AS rebooked
    FROM bookings a
    WHERE a.status IN ({ATTENDED_SQL}) AND a.patient_key IS NOT NULL AND a.day {PERIOD}
    """,
    """count(*) AS attended,
       count(*) FILTER (WHERE rebooked) AS rebooked,
       round(count(*) FILTER (WHERE rebooked) / count(*), 4) AS rebook_rate""",
)


ACQUISITION = define(
    "acquisition",
    "New patients (first booked visit) per week, by service and source",
    {
        "table": (
            View(
                (WEEK, SERVICE, column("source", T)),
                ("week", "service", "source"),
                (column("new_patients"),),
            ),
            _ACQUISITION_SQL,
        )
    },
)

WAITLIST = define(
    "waitlist",
    "Waitlist entries joined, withdrawn and converted, and time to conversion",
    {
        "table": (
            View(
                (SERVICE, WEEK),
                ("service",),
                (
                    column("joined"),
                    column("withdrawn"),
                    column("converted"),
                    column("first_visits"),
                    column("conversion_rate", R),
                    column("avg_days_to_conversion", N),
                ),
            ),
            _WAITLIST_SQL,
        )
    },
)

CROSS_SERVICE = define(
    "cross-service",
    "Patients using two or more services; first → second service",
    {
        "table": (
            View(
                (column("first_service", T), column("second_service", T)),
                (),
                (column("patients"), column("multi_service_patients"), column("share", R)),
            ),
            _CROSS_SERVICE_SQL,
        )
    },
)

CHURN = define(
    "churn",
    "Patients seen in the period with no visit and nothing booked for N days",
    {
        "table": (
            View(
                (SERVICE,),
                ("service",),
                (
                    column("patients"),
                    column("churned"),
                    column("churn_rate", R),
                    column("window_days"),
                ),
            ),
            _churn,
        )
    },
    {"days": (1, 3650)},
)

RETENTION = define(
    "retention",
    "Cohorts by month of first visit; rebook rate",
    {
        "cohorts": (
            View(
                (column("cohort_month", T), column("months_after")),
                ("cohort_month", "months_after"),
                (column("patients"), column("retained"), column("retention_rate", R)),
            ),
            _cohorts,
        ),
        "rebook": (
            View(
                (SERVICE, PRACTITIONER, MONTH),
                ("service",),
                (column("attended"), column("rebooked"), column("rebook_rate", R)),
            ),
            _REBOOK_SQL,
        ),
    },
)
