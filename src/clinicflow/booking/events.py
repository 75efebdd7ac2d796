"""Events booking publishes (past tense, versioned). Payloads carry ids and times, no PHI."""

from __future__ import annotations

from datetime import datetime

from clinicflow.booking.domain.appointment import Appointment
from clinicflow.infra.outbox import Event


def booking_event(kind: str, row: Appointment, now: datetime, **extra: object) -> Event:
    """`kind` is e.g. "created"; the event type becomes "booking.created"."""
    payload: dict[str, object] = {
        "booking_id": row.id,
        "status": row.status,
        "service": row.service,
        "visit_type": row.visit_type,
        "duration": row.duration_min,
        "practitioner": row.practitioner,
        "patient_id": row.patient_id,
        "start": row.start_at.isoformat(),
        "end": row.end_at.isoformat(),
        **extra,
    }
    return Event(
        type=f"booking.{kind}",
        aggregate_type="booking",
        aggregate_id=row.id,
        occurred_at=now,
        payload=payload,
    )
