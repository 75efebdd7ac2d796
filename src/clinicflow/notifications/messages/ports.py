"""The messages' repositories, as the use cases see them (SQL in `repository.py` and
`queries.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from clinicflow.notifications.domain.messages import DeliveryReport, Message


class Messages(Protocol):
    """The messages of events, in the caller's transaction. Inserts are idempotent on
    (event, channel, template), so a redelivered event (or a second worker) adds nothing."""

    async def of_event(self, event_id: str) -> list[Message]:
        """The event's messages, by template."""
        ...

    async def add(self, new: Sequence[Message]) -> None:
        """Records `new`, but for any whose (event, channel, template) is taken already."""
        ...

    async def claim(self, message_id: str, now: datetime, abandoned_before: datetime) -> bool:
        """Take the message for sending (status `sending`) if it is still sendable; whether
        this caller won it (of two workers, only one does)."""
        ...

    async def mark_sent(
        self, message_id: str, now: datetime, status: str, provider: str, provider_id: str | None
    ) -> None:
        """A claimed message's provider took it; a message no longer `sending` (a report
        already moved it on) keeps what it has."""
        ...

    async def mark_failed(self, message_id: str, now: datetime, reason: str) -> None:
        """A claimed message's send failed; as `mark_sent`, only while it is `sending`."""
        ...

    async def abandoned_events(self, abandoned_before: datetime, limit: int) -> list[str]:
        """Events with a message claimed by a worker that never finished its send, and
        reminder messages planned but never claimed."""
        ...

    async def email_count(self, booking_id: str, other_than: str) -> int:
        """How many emails this booking was sent besides this one."""
        ...

    async def report(self, report: DeliveryReport, now: datetime) -> int:
        """A provider's status report applied to the message it sent; how many changed (0 for
        an unknown id, a repeat, or a report that would move the status backwards)."""
        ...


class MessageLog(Protocol):
    """The messages as staff and patients list them."""

    async def listed(self, patient_id: str | None, status: str | None, limit: int) -> list[Message]:
        """Newest first."""
        ...
