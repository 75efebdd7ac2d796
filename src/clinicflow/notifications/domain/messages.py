"""A message to a patient as it is kept: one row per (event, channel, template), claimed
before its provider call and moved on by the outcome and the provider's reports.

Rows hold no PHI: no address and no text. `facts` are the ids and times the text was
rendered from (as the event carried them); the text is rendered again when it is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

# "sending": claimed by a worker for its provider call (messages/service.py).
MESSAGE_STATUSES = ("queued", "sending", "sent", "delivered", "failed", "skipped")

# A report moves a message forward only: from these statuses to the key. Delivered and
# failed are final, so a late or repeated report ("sent" after "delivered") changes nothing.
ADVANCES_FROM: dict[str, tuple[str, ...]] = {
    "sent": ("queued",),
    "delivered": ("queued", "sent"),
    "failed": ("queued", "sent"),
}


MessageStatus = Literal["queued", "sent", "delivered", "failed"]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's word on a message it took (a status callback, an event)."""

    provider: str  # as in SendResult.provider
    # The message's provider id as stored; several candidates when the report's id only
    # begins with it (SendGrid's sg_message_id is "<X-Message-Id>.<suffix>").
    provider_ids: tuple[str, ...]
    status: MessageStatus
    reason: str | None = None  # why it failed: vendor codes only, never an address


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One planned message of an event: queued, or skipped with its reason."""

    channel: str  # email | sms | push | local
    template: str  # "<kind>.<channel>", e.g. "confirmation.email"
    skip_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    event_id: str  # the event's id; for a reminder, "reminder:<reminder id>"
    patient_id: str
    booking_id: str | None
    channel: str
    template: str
    status: str
    provider: str | None
    provider_id: str | None
    reason: str | None  # why skipped or failed; never PHI
    facts: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def kind(self) -> str:
        """ "confirmation", "reminder", "receipt" …: the template's first part."""
        return self.template.split(".", 1)[0]

    def sendable(self, abandoned_before: datetime) -> bool:
        """Queued; failed with no provider having taken it; or claimed (`sending`) by a worker
        that has not finished for so long that it must have died. A message the provider
        accepted and later reported failed (undelivered, bounced) is not sent again when the
        event is redelivered: the same address would most likely fail the same way."""
        if self.status == "sending":
            return self.updated_at <= abandoned_before
        return self.status == "queued" or (self.status == "failed" and self.provider_id is None)


def new_messages(
    event_id: str,
    patient_id: str,
    booking_id: str | None,
    facts: Mapping[str, object],
    planned: Sequence[NewMessage],
    now: datetime,
) -> list[Message]:
    """The rows an event's planned messages are recorded as, each under a new id: queued, or
    skipped with its reason."""
    return [
        Message(
            id=str(uuid.uuid4()),
            event_id=event_id,
            patient_id=patient_id,
            booking_id=booking_id,
            channel=p.channel,
            template=p.template,
            status="skipped" if p.skip_reason else "queued",
            provider=None,
            provider_id=None,
            reason=p.skip_reason,
            facts=dict(facts),
            created_at=now,
            updated_at=now,
        )
        for p in planned
    ]


def reminder_event(reminder_id: str) -> str:
    """The event id a reminder's messages are filed under (a reminder has no event)."""
    return f"reminder:{reminder_id}"


def message_id_header(message_id: str, sender: str | None) -> str:
    """The RFC 5322 Message-ID of one message row: derived from its id (a UUID, so unique)
    under the sender's domain, and therefore the same when a send is repeated after a crash."""
    domain = (sender or "").rpartition("@")[2].strip().rstrip(">").strip()
    return f"<{message_id}@{domain or 'clinicflow.invalid'}>"


def failure_reason(reason: str | None) -> str:
    """What a provider's failure report leaves in `reason`: why (vendor codes only)."""
    return (reason or "reported failed")[:200]
