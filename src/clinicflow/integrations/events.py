"""The events the integrations context publishes."""

from __future__ import annotations

from datetime import datetime

from clinicflow.infra.outbox import Event

EHR_PATIENT_CHANGED = "ehr.patient_changed"


def ehr_patient_changed(remote_id: str, notice_id: str, now: datetime) -> Event:
    """The EHR said one of its patients changed (its webhook, verified); the sync reads the
    patient from the EHR's API when it handles this, never from the webhook's body."""
    return Event(
        type=EHR_PATIENT_CHANGED,
        aggregate_type="ehr_patient",
        aggregate_id=remote_id,
        occurred_at=now,
        payload={"remote_id": remote_id, "notice_id": notice_id},
    )
