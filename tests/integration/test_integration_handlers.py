"""Integration subscribers: every event is recorded for analytics once; booking events become
calendar and EHR calls in the booking's own order (the adapters here are recording fakes at
the port, where the vendor's network would be)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.analytics.repository import SqlAnalyticsUnitOfWork
from clinicflow.analytics.subscribers import EventRecorder
from clinicflow.analytics.tables import events
from clinicflow.bootstrap import Container
from clinicflow.infra.bus import Envelope
from clinicflow.infra.unit_of_work import Factory
from clinicflow.integrations.ports import SyncedVisit
from clinicflow.integrations.subscribers import CalendarSubscriber, EhrSubscriber
from support.notifications import book, envelope

# The outbox, relay and inbox: delivery once rests on each database's transactions.
pytestmark = pytest.mark.both_databases


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def upsert_visit(self, visit: SyncedVisit) -> None:
        self.calls.append(("upsert", visit.start.isoformat()))

    async def remove_visit(self, booking_id: str, practitioner: str) -> None:
        self.calls.append(("remove", practitioner))

    async def schedule_encounter(self, visit: SyncedVisit) -> None:
        self.calls.append(("schedule", visit.patient_id))

    async def cancel_encounter(self, booking_id: str) -> None:
        self.calls.append(("cancel", booking_id))


async def _journey(client: httpx.AsyncClient, container: Container, desk: dict[str, str]) -> str:
    made = await book(client)
    moved = await client.post(
        f"/v1/bookings/{made['id']}/reschedule",
        json={"start": "2026-11-25T14:00:00-06:00"},
        headers=desk,
    )
    assert moved.status_code == 200, moved.text
    cancelled = await client.post(f"/v1/bookings/{made['id']}/cancel", headers=desk)
    assert cancelled.status_code == 200, cancelled.text
    return str(made["id"])


async def _events(container: Container, booking_id: str) -> list[Envelope]:
    kinds = ("booking.created", "booking.rescheduled", "booking.cancelled")
    return [await envelope(container, kind, booking_id) for kind in kinds]


async def test_every_event_is_recorded_for_analytics_once(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    booking_id = await _journey(client, container, front_desk)
    await container.bus.run_once()  # the platform's own subscribers, analytics among them
    recorder = EventRecorder(
        uow=Factory(container.db, SqlAnalyticsUnitOfWork), clock=container.clock
    )
    for event in await _events(container, booking_id):
        await recorder.handle(event)  # a redelivery
    async with container.db.read() as conn:
        query = select(events.c.type, events.c.aggregate_id).order_by(events.c.occurred_at)
        found = [tuple(r) for r in await conn.execute(query)]
    assert found == [
        ("booking.created", booking_id),
        ("booking.rescheduled", booking_id),
        ("booking.cancelled", booking_id),
    ]


async def test_booking_events_reach_calendar_and_ehr_in_order(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    booking_id = await _journey(client, container, front_desk)
    calendar, ehr = Recording(), Recording()
    to_calendar, to_ehr = CalendarSubscriber(calendar), EhrSubscriber(ehr)
    journey = await _events(container, booking_id)
    patient_id = journey[0].payload["patient_id"]
    for event in journey:
        await to_calendar.handle(event)
        await to_ehr.handle(event)
    assert calendar.calls == [
        ("upsert", "2026-11-25T16:00:00+00:00"),
        ("upsert", "2026-11-25T20:00:00+00:00"),
        ("remove", "doctor1"),
    ]
    assert ehr.calls == [("schedule", patient_id), ("schedule", patient_id), ("cancel", booking_id)]
