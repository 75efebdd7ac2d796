"""The analytics subscriber: records every event once, whatever its type, so projections
written later (utilization, revenue, growth, funnels) can be built from the full history."""

from __future__ import annotations

from collections.abc import Sequence

from clinicflow.analytics.ports import AnalyticsUnitOfWork, RecordedEvent
from clinicflow.infra.bus import ALL_EVENTS, Envelope
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.shared.records import from_attributes


class EventRecorder:
    name = "analytics"
    types = frozenset({ALL_EVENTS})

    def __init__(self, *, uow: UnitsOfWork[AnalyticsUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def handle(self, event: Envelope) -> None:
        async with self._uow() as uow:
            await uow.events.add(self._record(event))  # a redelivery adds nothing
            await uow.commit()

    async def handle_batch(self, events: Sequence[Envelope]) -> None:
        """A page of events in one transaction (the in-process bus hands them together)."""
        async with self._uow() as uow:
            await uow.events.add_many([self._record(event) for event in events])
            await uow.commit()

    def _record(self, event: Envelope) -> RecordedEvent:
        return from_attributes(
            RecordedEvent, event, payload=dict(event.payload), recorded_at=self._clock.now()
        )
