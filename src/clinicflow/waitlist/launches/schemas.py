"""HTTP shapes for launches and invitations. Times are given in the clinic's zone. None of
the link answers carries PHI."""

from __future__ import annotations

from datetime import datetime, tzinfo

from pydantic import BaseModel, Field

from clinicflow.waitlist.launches.views import InvitationView, Launched
from clinicflow.waitlist.ports import FreeSlot


class WaveOut(BaseModel):
    number: int
    capacity: int = Field(description="initial-visit places counted for the wave")
    invited: int


class LaunchOut(BaseModel):
    service: str
    launched_at: datetime
    wave: WaveOut | None = Field(description="the first wave; null when nobody could be invited")

    @classmethod
    def of(cls, done: Launched, tz: tzinfo) -> LaunchOut:
        w = done.wave
        wave = WaveOut(number=w.number, capacity=w.capacity, invited=w.invited) if w else None
        return cls(service=done.service, launched_at=done.launched_at.astimezone(tz), wave=wave)


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    practitioners: list[str]


class InvitationOut(BaseModel):
    service: str
    service_name: str
    status: str = Field(description="sent (open), claiming, claimed, expired or withdrawn")
    expires_at: datetime
    durations: dict[str, list[int]]
    slots: list[SlotOut] = Field(description="open first-visit slots; empty once closed")
    booking_id: str | None

    @classmethod
    def of(cls, v: InvitationView, tz: tzinfo) -> InvitationOut:
        return cls(
            service=v.service,
            service_name=v.service_name,
            status=v.status,
            expires_at=v.expires_at.astimezone(tz),
            durations=v.durations,
            slots=[_slot(s, tz) for s in v.slots],
            booking_id=v.booking_id,
        )


def _slot(s: FreeSlot, tz: tzinfo) -> SlotOut:
    return SlotOut(
        start=s.start.astimezone(tz), end=s.end.astimezone(tz), practitioners=list(s.practitioners)
    )
