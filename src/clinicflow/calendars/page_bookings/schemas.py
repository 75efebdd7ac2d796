"""The Calendly routes' response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CalendlyWebhookOut(BaseModel):
    outcome: str  # imported | flagged | cancelled | withdrawn | duplicate | ignored


class CalendlyFlagOut(BaseModel):
    """A page booking made on Calendly that clinicflow could not take on its own."""

    invitee: str  # the invitee's URI at Calendly: who booked, to be looked up there
    scheduled_event: str | None
    event: str  # invitee.created, or invitee.canceled (a cancellation that was refused)
    practitioner: str | None
    service: str | None
    visit_type: str | None
    start: datetime | None
    end: datetime | None
    booking_id: str | None
    reason: str | None  # booking's code and detail: slot_unavailable: …
    received_at: datetime


class CalendlyFlagsOut(BaseModel):
    flags: list[CalendlyFlagOut]
