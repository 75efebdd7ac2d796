"""When a patient's record is de-identified: once it has been idle long enough.

Due: the last visit (completed, checked in or no-show; the registration date for a patient
who never had one) is more than `patient_records_years_after_last_visit` years ago, nothing
is booked ahead, and the record is not de-identified already. A legal hold spares the record
and is reported, so someone sees what is being kept and why.

De-identification happens in place: sealed PHI, blind indexes and contact preferences (no
one can be contacted any more) are cleared; the id, referral pointers (ids, not PHI), sex
and pronouns, and the visit history stay, so analytics and the referral graph still add up.
Nothing is decrypted: the values are simply dropped. The repository asks this rule in SQL
(`records/repository.py`); `idle` says it in Python, for readers and for the in-memory fake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.patients.domain.patient import DEIDENTIFIED
from clinicflow.patients.domain.visit import Visit

BATCH = 500
# Visits that count as contact with the clinic, and bookings that are still ahead.
VISITED = ("completed", "checked_in", "no_show")
UPCOMING = ("held", "confirmed")


@dataclass(frozen=True, slots=True)
class PatientsDue:
    due: list[str]  # ids, in id order
    spared_legal_hold: list[str]  # idle long enough, but under legal hold


@dataclass(frozen=True, slots=True)
class Batch:
    deidentified: list[str]
    next_after: str | None  # the id to continue after; None when nothing is left


def idle(
    status: str,
    created_at: datetime,
    visits: Iterable[Visit],
    policy: RetentionPolicy,
    now: datetime,
) -> bool:
    """Whether a record (legal hold aside) is due for de-identification."""
    cutoff = policy.patient_cutoff(now)
    visits = list(visits)
    counted = [v for v in visits if v.status in VISITED]
    recent = any(v.start >= cutoff for v in counted)
    ahead = any(v.status in UPCOMING and v.start > now for v in visits)
    return (
        status != DEIDENTIFIED
        and not recent
        and (bool(counted) or created_at < cutoff)
        and not ahead
    )
