"""What the analytics subscriber needs: its unit of work and the event record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from clinicflow.infra.unit_of_work import Transaction


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as it was published (ids and facts, no PHI), and when it was recorded."""

    event_id: str
    type: str
    version: int
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, object]
    recorded_at: datetime


class EventLog(Protocol):
    async def add(self, event: RecordedEvent) -> bool:
        """Keep `event`; False when it was kept before (a redelivery adds nothing)."""
        ...


class AnalyticsUnitOfWork(Transaction, Protocol):
    @property
    def events(self) -> EventLog: ...
