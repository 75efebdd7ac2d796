"""What callers ask booking to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.patients import PatientDetails


@dataclass(frozen=True, slots=True)
class SlotRequest:
    service: str
    visit_type: str
    duration: int
    start: datetime  # aware
    practitioner: str | None = None


@dataclass(frozen=True, slots=True)
class SlotQuestion:
    """Which slots are open for a visit (service, visit type, duration) from `lo` to `hi`
    (aware), with `practitioner` or with anyone who offers the service."""

    service: str
    visit_type: str
    duration: int
    lo: datetime
    hi: datetime
    practitioner: str | None = None


@dataclass(frozen=True, slots=True)
class BookRequest:
    slot: SlotRequest
    patient: PatientDetails | None  # None only when a signed-in patient books for themselves
    hold_id: str | None = None
