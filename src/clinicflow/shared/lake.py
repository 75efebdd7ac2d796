# ruff: noqa: S608 - SQL built from this module's own fragments
"""What every reader of the analytics lake derives from its `events` the same way: each
booking as it stands after its last event, in each engine's SQL (`Dialect`). The metrics
(analytics, in DuckDB and in Spark) and the models (forecasting) read it from here, so a
booking's status, times and patient are worked out once, in one order of events, whichever
engine or context asks. analytics writes its other derived views (`paid_lines`, `money`:
analytics/queries.py `derived`) in the same dialects.

Here, below the contexts, because analytics and forecasting may not import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one SQL engine says the few things the lake's derived views need."""

    last: Callable[[str], str]  # the column's value at the greatest `step`, nulls skipped
    first: Callable[[str], str]  # the column's value at the least `seq`, nulls skipped
    micros: str  # the function from an instant to microseconds since the epoch
    day: Callable[[str], str]  # an instant's local day (the connection's time zone)
    each: Callable[[str], str]  # a row per id of a list column; one NULL row when it is empty
    double: Callable[[str], str]  # a literal number (`1.0`) as the engine's float


DUCKDB = Dialect(
    last=lambda column: f"arg_max({column}, step)",
    first=lambda column: f"arg_min({column}, seq)",
    micros="epoch_us",
    day=lambda instant: f"CAST(timezone(current_setting('TimeZone'), {instant}) AS DATE)",
    each=lambda ids: (
        f"unnest(CASE WHEN len(coalesce({ids}, [])) = 0 THEN [NULL::VARCHAR] ELSE {ids} END)"
    ),
    double=lambda number: number,
)
# Spark's `max_by` and `min_by` would take a null at the greatest (least) order; DuckDB's
# `arg_max` and `arg_min` skip it.
SPARK = Dialect(
    last=lambda column: f"max_by({column}, IF({column} IS NULL, NULL, step))",
    first=lambda column: f"min_by({column}, IF({column} IS NULL, NULL, seq))",
    micros="unix_micros",
    day=lambda instant: f"CAST({instant} AS DATE)",
    each=lambda ids: (
        f"explode(CASE WHEN size(coalesce({ids}, array())) = 0 THEN array(CAST(NULL AS STRING))"
        f" ELSE {ids} END)"
    ),
    double=lambda number: f"{number}D",
)

# The `events` columns `bookings()` reads, with their DuckDB types: what a reader that keeps
# only some of the lake's columns must keep (and an empty lake's table of them). The facts
# after `patient_key` are those a booking's latest event decides (a reschedule moves the
# start, a cancellation sets the status).
READS: tuple[tuple[str, str], ...] = (
    ("type", "VARCHAR"),
    ("occurred_at", "TIMESTAMPTZ"),
    ("booking_id", "VARCHAR"),
    ("patient_key", "VARCHAR"),
    ("status", "VARCHAR"),
    ("service", "VARCHAR"),
    ("visit_type", "VARCHAR"),
    ("practitioner", "VARCHAR"),
    ("duration_min", "BIGINT"),
    ("start_at", "TIMESTAMPTZ"),
    ("end_at", "TIMESTAMPTZ"),
)
LATEST = tuple(name for name, _ in READS[4:])
TRAITS = ("zip3", "source")  # the patient's, carried along for the metrics


def bookings(
    dialect: Dialect = DUCKDB, *, traits: Sequence[str] = TRAITS, made_only: bool = False
) -> str:
    """A SELECT of each booking as it stands after its last event: `LATEST`, its local `day`,
    its patient's key and `traits`, and when it was made (`created_at`), first held and last
    cancelled. `made_only`: not a lone hold (no `booking.created`)."""
    latest = "".join(f"{dialect.last(c)} AS {c},\n       " for c in LATEST)
    carried = "".join(f"max({t}) AS {t},\n       " for t in traits)
    made = "min(occurred_at) FILTER (WHERE type = 'booking.created')"
    having = f"HAVING {made} IS NOT NULL" if made_only else ""
    return f"""
SELECT booking_id,
       {latest}{dialect.day(dialect.last("start_at"))} AS day,
       max(patient_key) AS patient_key,
       {carried}{made} AS created_at,
       min(occurred_at) FILTER (WHERE type = 'booking.held') AS held_at,
       max(occurred_at) FILTER (WHERE type = 'booking.cancelled') AS cancelled_at
FROM (
    -- A booking's events in the order they happened: by time, and at one instant by the
    -- life cycle's order (a check-in and its completion can share a clock tick)
    SELECT *, {dialect.micros}(occurred_at) * 10 + CASE type
               WHEN 'booking.held' THEN 0 WHEN 'booking.created' THEN 1
               WHEN 'booking.rescheduled' THEN 2 WHEN 'booking.checked_in' THEN 3
               ELSE 4 END AS step
    FROM events WHERE type LIKE 'booking.%' AND booking_id IS NOT NULL
)
GROUP BY booking_id
{having}
"""
