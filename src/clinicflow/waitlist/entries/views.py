"""What the entries' use cases hand back: plain data for the schemas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from clinicflow.waitlist.domain.entry import Entry
from clinicflow.waitlist.domain.standing import Standing
from clinicflow.waitlist.domain.states import STAGES
from clinicflow.waitlist.guard import WaitlistCipher


@dataclass(frozen=True, slots=True)
class PublicView:
    """All the token shows: nothing that identifies or reaches the person."""

    service: str
    status: str
    joined_at: datetime
    standing: Standing
    weights: dict[str, float]


@dataclass(frozen=True, slots=True)
class OwnEntry:
    """One of a signed-in patient's entries, for their area: where it stands (what its
    token shows) and whether it is still open (on the list, invited or offered), so that its
    preferences may change or the person may leave. Those go by the entry's private link."""

    id: str
    view: PublicView
    open: bool


@dataclass(frozen=True, slots=True)
class JoinResult:
    id: str
    view: PublicView
    token: str | None  # shown once, on the join that created the entry
    already_joined: bool
    # Mail to send after answering (so its time is not part of the answer's), if any.
    then: Callable[[], Awaitable[int]] | None = None


@dataclass(frozen=True, slots=True)
class EntryView:
    """The staff view: the person's details decrypted, with the standing."""

    id: str
    service: str
    status: str
    standing: Standing
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    zip: str | None
    zip3: str
    distance_mi: int | None
    interest_level: int
    channels: dict[str, dict[str, object]]
    preferred_practitioner: str | None
    preferred_times: list[dict[str, str]]
    campaign: str | None
    referrer: str | None
    stages: dict[str, datetime | None]
    patient_id: str | None
    booking_id: str | None
    joined_at: datetime
    status_at: datetime
    version: int

    @classmethod
    def of(cls, row: Entry, standing: Standing, cipher: WaitlistCipher) -> EntryView:
        return cls(
            id=row.id,
            service=row.service,
            status=row.status,
            standing=standing,
            first_name=cipher.open(row.first_name_enc, "first_name", row.id),
            last_name=cipher.open(row.last_name_enc, "last_name", row.id),
            email=cipher.open(row.email_enc, "email", row.id),
            phone=cipher.open(row.phone_enc, "phone", row.id),
            zip=cipher.open(row.zip_enc, "zip", row.id),
            zip3=row.zip3,
            distance_mi=row.distance_mi,
            interest_level=row.interest_level,
            channels={k: dict(v) for k, v in (row.channels or {}).items()},
            preferred_practitioner=row.preferred_practitioner,
            preferred_times=list(row.preferred_times or []),
            campaign=row.campaign,
            referrer=row.referrer,
            stages={s: row.reached(s) for s in STAGES},
            patient_id=row.patient_id,
            booking_id=row.booking_id,
            joined_at=row.joined_at,
            status_at=row.status_at,
            version=int(row.version),
        )


@dataclass(frozen=True, slots=True)
class EntryList:
    weights: dict[str, float]
    entries: list[EntryView]
