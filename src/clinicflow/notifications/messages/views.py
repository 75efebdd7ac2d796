"""What reading the messages answers: a message with its text rendered again from its facts
(none for a skipped one, which was never written)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.notifications.domain.messages import Message
from clinicflow.notifications.domain.render import Renderer
from clinicflow.notifications.domain.subject import subject_from_facts
from clinicflow.shared.records import from_attributes


@dataclass(frozen=True, slots=True)
class MessageView:
    id: str
    patient_id: str
    booking_id: str | None
    channel: str
    template: str
    status: str
    provider: str | None
    reason: str | None
    subject: str | None
    text: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: Message, renderer: Renderer) -> MessageView:
        subject = text = None
        if m.status != "skipped":
            rendered = renderer.render(m.template, subject_from_facts(m.kind, m.facts))
            subject, text = rendered.subject or None, rendered.text
        return from_attributes(cls, m, subject=subject, text=text)
