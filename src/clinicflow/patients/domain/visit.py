"""The visit history patients keep from booking's events, and service enrollments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Visit:
    booking_id: str
    patient_id: str
    service: str
    visit_type: str
    practitioner: str
    status: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Enrollment:
    patient_id: str
    service: str
    since: datetime
    status: str  # active | paused | completed | withdrawn
    updated_at: datetime
