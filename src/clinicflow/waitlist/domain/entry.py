"""A waitlist entry as the use cases see it: one row of `waitlist_entry`, typed.

The person's details are sealed (`*_enc`: ciphertext bound to the column and the entry);
what ranking and statistics need (interest, join time, ZIP3, whole miles, stage times) is
in clear. `Entry` is what the repository hands back; `NewEntry` is what a join adds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.waitlist.domain.states import CHANGEABLE, QUEUED

# {"email": {"opt_in": true, "consent_at": "…", "withdrawn_at": null}, "sms": …, "phone": …}
Channels = dict[str, dict[str, object]]
# [{"weekday": "tue", "start": "17:00", "end": "19:00"}], clinic-local wall-clock times
Windows = list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A join's values, sealed and indexed, before the entry exists."""

    id: str
    service: str
    status: str
    first_name_enc: str | None
    last_name_enc: str | None
    email_enc: str | None
    phone_enc: str | None
    zip_enc: str | None
    email_bidx: str | None
    phone_bidx: str | None
    zip3: str
    distance_mi: int | None
    interest_level: int
    channels: Channels
    preferred_practitioner: str | None
    preferred_times: Windows
    campaign: str | None
    referrer: str | None
    patient_id: str | None
    joined_at: datetime
    status_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Entry(NewEntry):
    """An entry as stored: what its join gave, and what came since."""

    token_hash: str
    booking_id: str | None
    notified_at: datetime | None
    clicked_at: datetime | None
    booked_at: datetime | None
    paid_at: datetime | None
    version: int

    @property
    def queued(self) -> bool:
        """Still waiting for a visit: ranked, with a position."""
        return self.status in QUEUED

    @property
    def changeable(self) -> bool:
        """The person or staff may change preferences or withdraw only while queued."""
        return self.status in CHANGEABLE

    @property
    def erased(self) -> bool:
        """Retention de-identified it in place: nobody can be booked from it."""
        return self.first_name_enc is None

    def reached(self, stage: str) -> datetime | None:
        """When the entry first reached a conversion stage (notified … paid)."""
        found: datetime | None = getattr(self, f"{stage}_at")
        return found


@dataclass(frozen=True, slots=True)
class Placement:
    """The booking an entry moved to booked with, and the patient it was booked for."""

    booking_id: str
    patient_id: str | None
