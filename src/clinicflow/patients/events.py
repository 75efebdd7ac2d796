"""The events the patients context publishes."""

from __future__ import annotations

from datetime import datetime

from clinicflow.infra.outbox import Event

DEIDENTIFIED = "patient.deidentified"


def deidentified(patient_id: str, now: datetime) -> Event:
    """A record was de-identified: other contexts drop what they keep about the person."""
    return Event(
        type=DEIDENTIFIED,
        aggregate_type="patient",
        aggregate_id=patient_id,
        occurred_at=now,
        payload={"patient_id": patient_id},
    )
