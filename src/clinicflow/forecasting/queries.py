# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""The models' inputs, read from the analytics lake only (never the live tables): DuckDB over
the current snapshot's Parquet files. One row per booking (the no-show model) and one row per
patient and service at a moment (the churn models). The lake holds keyed hashes, never names
or contacts, so nothing read here is PHI.

Every history feature is counted as of a moment (a booking's making, a snapshot's day) from
what had happened before it, so a model trained on earlier rows never sees the later ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from clinicflow.forecasting.domain.frame import Array, Frame
from clinicflow.shared.lake import READS, bookings

if TYPE_CHECKING:
    import duckdb

# The lake's columns the models read: booking facts and the patient's keyed hash (never the
# ZIP3, age band or referral source).
_READ = ", ".join(name for name, _ in READS)


def _connect(files: Sequence[str], tz: str) -> duckdb.DuckDBPyConnection:
    import duckdb  # imported on first use: the app's wiring does not (docs/architecture.md)

    con = duckdb.connect(":memory:")
    con.execute(f"SET TimeZone = '{tz.replace(chr(39), '')}'")
    local = [f.removeprefix("file://").replace("'", "''") for f in files]
    if local:
        paths = "[" + ", ".join(f"'{p}'" for p in local) + "]"
        source = f"read_parquet({paths}, union_by_name = true)"
        con.execute(
            f"CREATE TABLE events AS SELECT {_READ} FROM {source} WHERE type LIKE 'booking.%'"
        )
    else:
        columns = ", ".join(f"{name} {kind}" for name, kind in READS)
        con.execute(f"CREATE TABLE events ({columns})")
    con.execute(_BOOKINGS)
    con.execute("SET enable_external_access = false")
    return con


# Each booking as it stands after its last event (made ones only: a lone hold is no booking).
_BOOKINGS = f"CREATE TABLE bookings AS {bookings(traits=(), made_only=True)}"

# Per booking: what was known of its patient when it was made. `late`: cancelled less than
# `late_hours` before its start. Outcome: 1 no-show, 0 attended, NULL not yet (or cancelled).
_BOOKING_FEATURES = """
WITH b AS (
    SELECT *, cancelled_at IS NOT NULL
              AND cancelled_at > start_at - to_hours(CAST($late_hours AS BIGINT)) AS late
    FROM bookings
), hist AS (
    SELECT x.booking_id,
           count(*) FILTER (WHERE y.status = 'no_show' AND y.start_at < x.created_at)
               AS prior_no_shows,
           count(*) FILTER (WHERE y.status IN ('completed', 'checked_in')
                            AND y.start_at < x.created_at) AS prior_visits,
           count(*) FILTER (WHERE y.late AND y.cancelled_at < x.created_at)
               AS prior_late_cancels,
           count(*) FILTER (WHERE y.status = 'cancelled' AND y.cancelled_at < x.created_at)
               AS prior_cancels,
           max(y.start_at) FILTER (WHERE y.status IN ('completed', 'checked_in')
                                   AND y.start_at < x.created_at) AS last_visit
    FROM b x LEFT JOIN b y
      ON y.patient_key = x.patient_key AND y.booking_id <> x.booking_id
    GROUP BY x.booking_id
)
SELECT b.booking_id, b.patient_key, b.service, b.practitioner, b.visit_type, b.status,
       epoch(b.start_at) AS start_ts, epoch(b.created_at) AS created_ts,
       greatest(epoch(b.start_at - b.created_at), 0) / 86400.0 AS lead_days,
       CAST(isodow(b.start_at) - 1 AS DOUBLE) AS weekday,
       hour(b.start_at) + minute(b.start_at) / 60.0 AS hour,
       CAST(b.visit_type = 'initial' AS DOUBLE) AS first_visit,
       CAST(coalesce(h.prior_no_shows, 0) AS DOUBLE) AS prior_no_shows,
       CAST(coalesce(h.prior_visits, 0) AS DOUBLE) AS prior_visits,
       CAST(coalesce(h.prior_late_cancels, 0) AS DOUBLE) AS prior_late_cancels,
       CAST(coalesce(h.prior_cancels, 0) AS DOUBLE) AS prior_cancels,
       CAST(coalesce(h.prior_visits, 0) + coalesce(h.prior_no_shows, 0) = 0 AS DOUBLE)
           AS new_patient,
       coalesce(epoch(b.created_at - h.last_visit) / 86400.0, -1.0) AS days_since_visit,
       CASE WHEN b.status = 'no_show' THEN 1.0
            WHEN b.status IN ('completed', 'checked_in') THEN 0.0 END AS no_show
FROM b LEFT JOIN hist h USING (booking_id)
WHERE b.patient_key IS NOT NULL AND b.status <> 'held' AND b.status <> 'expired'
ORDER BY b.start_at, b.practitioner, b.created_at, b.booking_id
"""

# Rows ordered by what they hold, the patient's key (a hash of a random id) last: the churn
# booster bags rows by position, so an order by key would train another model on every
# history made, even one equal in all else.
# Per patient and service with an attended visit on or before the day `$at` (and, for
# churn, one within `window` days of it: still in care): where they stand on that day.
# `next_visit_days`: days from `$at` to their next attended visit of the service (NULL: none
# in the lake); `churn_days`: days from `$at` to the end of the window after the last visit
# before a gap of the window
# (NULL: no such gap seen before `$seen`, the lake's end, so censored there), the churn
# counted when the window has passed (the day the clinic can tell).
_CHURN_FEATURES = """
WITH b AS (
    SELECT patient_key, service, booking_id, status, start_at, created_at, cancelled_at
    FROM bookings WHERE patient_key IS NOT NULL
), w AS (
    SELECT service, days FROM churn_window
), attended AS (
    SELECT patient_key, service, start_at FROM b WHERE status IN ('completed', 'checked_in')
), past AS (
    SELECT patient_key, service,
           count(*) AS visits,
           min(start_at) AS first_visit,
           max(start_at) AS last_visit
    FROM attended WHERE start_at <= $at GROUP BY ALL
), other AS (
    SELECT patient_key, service,
           count(*) FILTER (WHERE status = 'no_show' AND start_at <= $at) AS no_shows,
           count(*) FILTER (WHERE status = 'cancelled' AND cancelled_at <= $at) AS cancels,
           count(*) FILTER (WHERE created_at <= $at AND start_at > $at
                            AND (cancelled_at IS NULL OR cancelled_at > $at)) AS upcoming,
           count(*) FILTER (WHERE created_at <= $at AND start_at > $at - INTERVAL 28 DAY
                            AND start_at <= $at) AS recent_bookings
    FROM b GROUP BY ALL
), gaps AS (
    -- each attended visit with the next one of the same patient and service
    SELECT patient_key, service, start_at,
           lead(start_at) OVER (PARTITION BY patient_key, service ORDER BY start_at) AS next_at
    FROM attended
), churned AS (
    -- the first visit after `$at` (or the last before it) followed by a gap of the window
    SELECT g.patient_key, g.service,
           min(g.start_at) + to_days(CAST(any_value(w.days) AS INTEGER)) AS churn_at
    FROM gaps g JOIN w ON w.service = g.service
    WHERE g.start_at >= (SELECT max(start_at) FROM attended a
                         WHERE a.patient_key = g.patient_key AND a.service = g.service
                           AND a.start_at <= $at)
      AND coalesce(g.next_at, $seen) - g.start_at > to_days(CAST(w.days AS INTEGER))
      AND g.start_at + to_days(CAST(w.days AS INTEGER)) <= $seen
    GROUP BY ALL
)
SELECT p.patient_key, p.service,
       CAST(p.visits AS DOUBLE) AS visits,
       epoch($at - p.first_visit) / 86400.0 AS tenure_days,
       epoch($at - p.last_visit) / 86400.0 AS days_since_visit,
       CAST(coalesce(o.no_shows, 0) AS DOUBLE) AS no_shows,
       CAST(coalesce(o.cancels, 0) AS DOUBLE) AS cancels,
       CAST(coalesce(o.upcoming, 0) AS DOUBLE) AS upcoming,
       CAST(coalesce(o.recent_bookings, 0) AS DOUBLE) AS recent_bookings,
       p.visits / greatest(epoch($at - p.first_visit) / 604800.0, 1.0) AS visits_per_week,
       CAST(w.days AS DOUBLE) AS window_days,
       (SELECT epoch(min(a.start_at) - $at) / 86400.0 FROM attended a
        WHERE a.patient_key = p.patient_key AND a.service = p.service AND a.start_at > $at)
           AS next_visit_days,
       CASE WHEN c.churn_at IS NOT NULL
            THEN greatest(epoch(c.churn_at - $at) / 86400.0, 0.0) END AS churn_days,
       (SELECT arg_max(x.booking_id, x.start_at) FROM b x
        WHERE x.patient_key = p.patient_key AND x.service = p.service
          AND x.created_at <= $at) AS last_booking_id
FROM past p
JOIN w ON w.service = p.service
LEFT JOIN other o ON o.patient_key = p.patient_key AND o.service = p.service
LEFT JOIN churned c ON c.patient_key = p.patient_key AND c.service = p.service
WHERE epoch($at - p.last_visit) / 86400.0 <= w.days OR coalesce(o.upcoming, 0) > 0
ORDER BY p.service, p.first_visit, p.last_visit, p.visits, coalesce(o.no_shows, 0),
         coalesce(o.cancels, 0), coalesce(o.upcoming, 0), coalesce(o.recent_bookings, 0),
         next_visit_days NULLS FIRST, c.churn_at NULLS FIRST, p.patient_key
"""


class LakeReader:
    """The lake's current snapshot, opened once, answering each model's questions."""

    def __init__(
        self,
        files: Sequence[str],
        tz: str,
        churn_days: Mapping[str, int],
        churn_default: int,
        late_hours: int,
    ) -> None:
        self._con = _connect(files, tz)
        self._late = late_hours
        services = [
            r[0]
            for r in self._con.execute(
                "SELECT DISTINCT service FROM bookings WHERE service IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
        self._windows = {s: int(churn_days.get(s, churn_default)) for s in services}
        self._con.execute("CREATE TABLE churn_window (service VARCHAR, days BIGINT)")
        if self._windows:
            self._con.executemany(
                "INSERT INTO churn_window VALUES (?, ?)", list(self._windows.items())
            )

    @property
    def windows(self) -> Mapping[str, int]:
        return self._windows

    def close(self) -> None:
        self._con.close()

    def span(self) -> tuple[datetime | None, datetime | None]:
        """The first booking's making and the lake's last booking event."""
        row = self._con.execute(
            "SELECT (SELECT min(created_at) FROM bookings), (SELECT max(occurred_at) FROM events)"
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def last_event(self) -> datetime | None:
        row = self._con.execute("SELECT max(occurred_at) FROM events").fetchone()
        return row[0] if row else None

    def digest(self) -> str:
        """A SHA-256 over the rows the models read (order fixed): the registry's data hash."""
        h = hashlib.sha256()
        rows = self._con.execute(
            "SELECT booking_id, status, service, visit_type, practitioner, start_at, "
            "patient_key, created_at, cancelled_at FROM bookings ORDER BY booking_id"
        ).fetchall()
        for row in rows:
            h.update(repr(row).encode())
        return h.hexdigest()

    def bookings(self) -> Frame:
        return self._frame(_BOOKING_FEATURES, {"late_hours": self._late})

    def churn(self, at: datetime, seen: datetime) -> Frame:
        return self._frame(_CHURN_FEATURES, {"at": at, "seen": seen})

    def _frame(self, sql: str, params: Mapping[str, object]) -> Frame:
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        got = self._con.execute(sql, used).fetchnumpy()
        out: dict[str, Array] = {}
        for name, col in got.items():
            arr = np.asarray(col)
            if np.ma.isMaskedArray(col):
                masked = np.ma.getmaskarray(col)
                if arr.dtype.kind in "fiu":
                    arr = np.where(masked, np.nan, np.ma.getdata(col)).astype(np.float64)
                else:
                    data = np.ma.getdata(col)
                    arr = np.array(
                        [None if m else v for m, v in zip(masked, data, strict=True)], dtype=object
                    )
            elif arr.dtype.kind in "iu":
                arr = arr.astype(np.float64)
            out[name] = arr
        return Frame(out)
