"""Booking events → calendar and EHR calls. Each target is its own bus subscriber (its own
inbox and retries), so an EHR outage never holds back calendar updates, and ordering per
booking is kept by the bus (a cancellation is never handled before its creation)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from clinicflow.infra.bus import Envelope
from clinicflow.integrations.events import EHR_PATIENT_CHANGED
from clinicflow.integrations.ports import CalendarSync, EhrSync, SyncedVisit
from clinicflow.integrations.service import CrmSyncService, EhrSyncService

# The patients context's event (patients/events.py), named here as analytics does: only the
# context's package surface may be imported.
DEIDENTIFIED = "patient.deidentified"
BOOKING_EVENTS = frozenset({"booking.created", "booking.rescheduled", "booking.cancelled"})


def visit_of(payload: Mapping[str, object]) -> SyncedVisit:
    """The visit a booking event's payload describes (ids and times only)."""
    patient_id = payload.get("patient_id")
    return SyncedVisit(
        booking_id=str(payload["booking_id"]),
        service=str(payload["service"]),
        visit_type=str(payload["visit_type"]),
        practitioner=str(payload["practitioner"]),
        start=datetime.fromisoformat(str(payload["start"])),
        end=datetime.fromisoformat(str(payload["end"])),
        patient_id=None if patient_id is None else str(patient_id),
    )


class CalendarSubscriber:
    name = "calendar_sync"
    types = BOOKING_EVENTS

    def __init__(self, calendar: CalendarSync) -> None:
        self._calendar = calendar

    async def handle(self, event: Envelope) -> None:
        visit = visit_of(event.payload)
        if event.type == "booking.cancelled":
            await self._calendar.remove_visit(visit.booking_id, visit.practitioner)
        else:
            await self._calendar.upsert_visit(visit)


class EhrSubscriber:
    name = "ehr_sync"
    types = BOOKING_EVENTS

    def __init__(self, ehr: EhrSync) -> None:
        self._ehr = ehr

    async def handle(self, event: Envelope) -> None:
        visit = visit_of(event.payload)
        if event.type == "booking.cancelled":
            await self._ehr.cancel_encounter(visit.booking_id)
        elif visit.patient_id is not None:  # a bare hold has no one to chart
            await self._ehr.schedule_encounter(visit)


class EhrPatientChanges:
    """The EHR's webhooks, queued as events (service.EhrWebhookIntake): each patient is read
    from the EHR's API and reconciled with ours; a failure is retried by the bus."""

    name = "ehr_patient_changes"
    types = frozenset({EHR_PATIENT_CHANGED})

    def __init__(self, sync: EhrSyncService) -> None:
        self._sync = sync

    async def handle(self, event: Envelope) -> None:
        await self._sync.patient_changed(str(event.payload["remote_id"]))


class CrmSubscriber:
    """A booking's patient, to the CRM (only with marketing consent: service.CrmSyncService)."""

    name = "crm_sync"
    types = frozenset({"booking.created"})

    def __init__(self, crm: CrmSyncService) -> None:
        self._crm = crm

    async def handle(self, event: Envelope) -> None:
        patient_id = event.payload.get("patient_id")
        if patient_id is not None:
            await self._crm.sync_patient(str(patient_id))


class EhrErasure:
    """A de-identified patient's link to the EHR, and the conflicts naming them, are dropped."""

    name = "ehr_erasure"
    types = frozenset({DEIDENTIFIED})

    def __init__(self, sync: EhrSyncService) -> None:
        self._sync = sync

    async def handle(self, event: Envelope) -> None:
        await self._sync.forget(str(event.payload["patient_id"]))
