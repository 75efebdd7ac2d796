"""The facts of a visit a message is about, as carried by booking events (ids and times)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

KINDS = {
    "booking.created": "confirmation",
    "booking.rescheduled": "rescheduled",
    "booking.cancelled": "cancelled",
}


@dataclass(frozen=True, slots=True)
class Visit:
    booking_id: str
    service: str
    visit_type: str
    practitioner: str
    start: datetime  # aware UTC
    end: datetime
    patient_id: str | None = None
    previous_start: datetime | None = None  # set on a reschedule

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Visit:
        previous = payload.get("previous") or {}
        return cls._read(payload, previous.get("start"), payload.get("patient_id"))

    def facts(self) -> dict[str, Any]:
        """What a message row keeps to render its text again on read: no PHI, only the
        booking's ids and times (the same facts the event itself carries)."""
        return {
            "booking_id": self.booking_id,
            "service": self.service,
            "visit_type": self.visit_type,
            "practitioner": self.practitioner,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "previous_start": self.previous_start.isoformat() if self.previous_start else None,
        }

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any]) -> Visit:
        return cls._read(facts, facts.get("previous_start"), None)

    @classmethod
    def _read(cls, given: Mapping[str, Any], before: str | None, patient_id: str | None) -> Visit:
        """A booking event's payload and a message row's facts name the visit alike."""
        return cls(
            booking_id=str(given["booking_id"]),
            service=str(given["service"]),
            visit_type=str(given["visit_type"]),
            practitioner=str(given["practitioner"]),
            start=datetime.fromisoformat(given["start"]),
            end=datetime.fromisoformat(given["end"]),
            patient_id=patient_id,
            previous_start=datetime.fromisoformat(before) if before else None,
        )
