# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""The planning models' inputs, read from the analytics lake only (never the live tables):
DuckDB over the current snapshot's Parquet files (`LakeFiles`). Each booking as it stands
after its last event; each launch invitation with what the lake knows of its entry and
whether a first visit followed. The lake holds keyed hashes, never names or contacts, and
nothing here selects even those: the rows are counts and facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from clinicflow.forecasting.demand.domain.series import Visit
from clinicflow.forecasting.waitlist.domain.conversion import Invitation
from clinicflow.shared.lake import READS, bookings

# Each booking as it stands after its last event (made ones only, not lone holds).
_BOOKINGS = f"CREATE TABLE bookings AS {bookings(traits=(), made_only=True)}"

# Every query orders its rows by what they hold, ids last: the lake's ids are random UUIDs
# (and its keys hashes of them), so rows tied on the rest would come in an order that
# changes with every history made, even one equal in all else; the waitlist model splits
# its invitations by position (the earlier 60% train).

_VISITS = """
SELECT service, practitioner, start_at, end_at, created_at,
       CASE WHEN status = 'cancelled' THEN coalesce(cancelled_at, created_at) END
FROM bookings
WHERE status IN ('confirmed', 'checked_in', 'completed', 'no_show', 'cancelled')
  AND start_at IS NOT NULL AND end_at IS NOT NULL AND service IS NOT NULL
ORDER BY start_at, practitioner, service, end_at, created_at, cancelled_at NULLS FIRST, booking_id
"""

# Each launch invitation; `converted_at`: when a first visit was first booked from the entry
# (`waitlist.converted`, by any link), NULL when never.
_INVITATIONS = """
WITH invited AS (
    SELECT contact_key, service, invitation_id, occurred_at AS invited_at,
           interest_level, campaign, joined_at, wave
    FROM events WHERE type = 'waitlist.invited' AND contact_key IS NOT NULL
), converted AS (
    SELECT contact_key, min(occurred_at) AS converted_at
    FROM events WHERE type = 'waitlist.converted' AND contact_key IS NOT NULL
    GROUP BY contact_key
)
SELECT i.service, i.invited_at, i.interest_level, i.campaign, i.joined_at, i.wave,
       c.converted_at
FROM invited i LEFT JOIN converted c USING (contact_key)
ORDER BY i.invited_at, i.joined_at, i.interest_level, i.campaign, i.wave,
         c.converted_at NULLS FIRST, i.invitation_id
"""

# Entries on a list never invited, withdrawn or converted: who a next wave would ask.
_WAITING = """
WITH joined AS (
    SELECT contact_key, arg_max(service, occurred_at) AS service,
           arg_max(interest_level, occurred_at) AS interest_level,
           arg_max(campaign, occurred_at) AS campaign, min(joined_at) AS joined_at
    FROM events WHERE type = 'waitlist.joined' AND contact_key IS NOT NULL GROUP BY ALL
), gone AS (
    SELECT DISTINCT contact_key FROM events
    WHERE type IN ('waitlist.invited', 'waitlist.withdrawn', 'waitlist.converted')
)
SELECT service, interest_level, campaign, joined_at FROM joined
WHERE contact_key NOT IN (SELECT contact_key FROM gone WHERE contact_key IS NOT NULL)
ORDER BY joined_at, service, interest_level, campaign
"""

# An empty lake: the columns read here (the bookings', the waitlist's).
_WAITLIST_READS = (
    ("contact_key", "VARCHAR"),
    ("invitation_id", "VARCHAR"),
    ("interest_level", "BIGINT"),
    ("campaign", "VARCHAR"),
    ("joined_at", "TIMESTAMPTZ"),
    ("wave", "BIGINT"),
)
_EMPTY = "CREATE TABLE events ({})".format(
    ", ".join(f"{name} {kind}" for name, kind in (*READS, *_WAITLIST_READS))
)


class LakeHistory:
    """The lake's current snapshot (its Parquet files), opened once per question."""

    def __init__(self, files: Sequence[str]) -> None:
        import duckdb  # imported on first use: the app's wiring does not (docs/architecture.md)

        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        local = [f.removeprefix("file://").replace("'", "''") for f in files]
        if local:
            paths = "[" + ", ".join(f"'{p}'" for p in local) + "]"
            self._con.execute(
                f"CREATE TABLE events AS SELECT * FROM read_parquet({paths}, union_by_name = true)"
            )
        else:
            self._con.execute(_EMPTY)
        self._con.execute(_BOOKINGS)
        self._con.execute("SET enable_external_access = false")

    def visits(self) -> list[Visit]:
        """Every booking made (no-shows and cancelled ones included), by start."""
        rows = self._con.execute(_VISITS).fetchall()
        return [
            Visit(str(s), str(p or ""), _utc(a), _utc(b), _utc(c), None if x is None else _utc(x))
            for s, p, a, b, c, x in rows
        ]

    def invitations(self) -> list[Invitation]:
        rows = self._con.execute(_INVITATIONS).fetchall()
        return [
            Invitation(
                service=str(service),
                invited_at=_utc(invited),
                interest_level=int(interest or 3),
                campaign=str(campaign or ""),
                joined_at=_utc(joined or invited),
                wave=int(wave or 1),
                converted_at=None if converted is None else _utc(converted),
            )
            for service, invited, interest, campaign, joined, wave, converted in rows
        ]

    def last_event(self) -> datetime | None:
        last = self._con.execute("SELECT max(occurred_at) FROM events").fetchone()
        return _utc(last[0]) if last and last[0] else None

    def waiting(self, now: datetime | None = None) -> list[Invitation]:
        """The never-invited entries, as invitations made `now` (default: the lake's last
        event), with no outcome."""
        at = now or self.last_event() or datetime.now(UTC)
        rows = self._con.execute(_WAITING).fetchall()
        return [
            Invitation(str(s), at, int(i or 3), str(c or ""), _utc(j or at), 1, None)
            for s, i, c, j in rows
        ]

    def close(self) -> None:
        self._con.close()


def _utc(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"an instant was expected, not {value!r}")
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
