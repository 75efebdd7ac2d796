"""How long each kind of data is kept (the `retention:` section)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each kind of data is kept; `clinicflow retention run` applies it."""

    audit_log_years: int = 6  # HIPAA keeps compliance documentation six years
    patient_records_years_after_last_visit: int = 7
    expired_holds_days: int = 30
    # Withdrawn waitlist entries are deleted this long after they were withdrawn.
    cancelled_waitlist_entries_days: int = 365
    # The event bus's bookkeeping (infra/events/retention.py): published outbox events,
    # finished deliveries, and the handled-event records that stop a redelivery acting twice.
    published_events_days: int = 30
    finished_deliveries_days: int = 30
    handled_events_days: int = 90

    def audit_cutoff(self, now: datetime) -> datetime:
        return years_before(now, self.audit_log_years)

    def patient_cutoff(self, now: datetime) -> datetime:
        return years_before(now, self.patient_records_years_after_last_visit)

    def holds_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.expired_holds_days)


def years_before(at: datetime, years: int) -> datetime:
    """The same calendar date `years` earlier; 29 February falls back to the 28th.

    Calendar years rather than 365-day multiples: "six years" in a retention rule means the
    anniversary, and leap days would otherwise move the cutoff a day or two early."""
    try:
        return at.replace(year=at.year - years)
    except ValueError:
        return at.replace(year=at.year - years, day=28)
