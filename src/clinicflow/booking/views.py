"""What the booking context hands back: plain data, turned into JSON by the schemas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.booking.domain.appointment import Appointment
from clinicflow.booking.domain.lifecycle import allowed_actions
from clinicflow.shared.records import from_attributes


@dataclass(frozen=True, slots=True)
class BookingView:
    id: str
    status: str
    service: str
    visit_type: str
    duration: int
    practitioner: str
    patient_id: str | None
    start: datetime
    end: datetime
    hold_expires_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
    actions: tuple[str, ...]

    @classmethod
    def of(cls, row: Appointment, now: datetime) -> BookingView:
        status = row.status_at(now)
        return from_attributes(
            cls,
            row,
            status=status.value,
            duration=row.duration_min,
            start=row.start_at,
            end=row.end_at,
            actions=tuple(a.value for a in allowed_actions(status)),
        )


@dataclass(frozen=True, slots=True)
class SlotView:
    start: datetime
    end: datetime
    practitioners: tuple[str, ...]
