"""The analytics subscriber: records every event once, whatever its type, so projections
written later (utilization, revenue, growth, funnels) can be built from the full history."""

from __future__ import annotations

from clinicflow.analytics.tables import events
from clinicflow.infra.bus import ALL_EVENTS, Envelope
from clinicflow.infra.db import Database, insert_ignoring_duplicates
from clinicflow.shared.clock import Clock


class EventRecorder:
    name = "analytics"
    types = frozenset({ALL_EVENTS})

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def handle(self, event: Envelope) -> None:
        row = {
            "event_id": event.event_id,
            "type": event.type,
            "version": event.version,
            "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id,
            "occurred_at": event.occurred_at,
            "payload": dict(event.payload),
            "recorded_at": self._clock.now(),
        }
        async with self._db.write() as conn:
            await insert_ignoring_duplicates(conn, events, [row])  # a redelivery adds nothing
