"""HTTP shapes for launches, invitations, offers, conversions and tracking links. Times are
given in the clinic's zone. None of the link answers carries PHI."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from clinicflow.infra.request_input import RequestModel
from clinicflow.waitlist.invitations import ClaimAsk, Claimed, InvitationView
from clinicflow.waitlist.launching import Launched
from clinicflow.waitlist.nurture import Clicked
from clinicflow.waitlist.offers import OfferView
from clinicflow.waitlist.ports import Booked, FreeSlot
from clinicflow.waitlist.schemas import EntryOut

Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]


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


class ClaimIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    duration: Annotated[int, Field(gt=0, le=1440)] | None = Field(
        default=None, description="minutes; default: the visit type's shortest"
    )
    visit_type: Key = "initial"
    practitioner: Key | None = None

    def ask(self) -> ClaimAsk:
        return ClaimAsk(self.start, self.duration, self.visit_type, self.practitioner)


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    practitioners: list[str]


class WaitlistBookingOut(BaseModel):
    id: str
    status: str
    service: str
    visit_type: str
    duration: int
    practitioner: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, b: Booked, tz: tzinfo) -> WaitlistBookingOut:
        return cls(
            id=b.id,
            status=b.status,
            service=b.service,
            visit_type=b.visit_type,
            duration=b.duration,
            practitioner=b.practitioner,
            start=b.start.astimezone(tz),
            end=b.end.astimezone(tz),
        )


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


class OfferOut(BaseModel):
    service: str
    service_name: str
    status: str = Field(description="made (open), claiming, claimed, expired or withdrawn")
    expires_at: datetime
    visit_type: str
    duration: int
    practitioner: str
    start: datetime
    booking_id: str | None

    @classmethod
    def of(cls, v: OfferView, tz: tzinfo) -> OfferOut:
        return cls(
            service=v.service,
            service_name=v.service_name,
            status=v.status,
            expires_at=v.expires_at.astimezone(tz),
            visit_type=v.visit_type,
            duration=v.duration,
            practitioner=v.practitioner,
            start=v.start.astimezone(tz),
            booking_id=v.booking_id,
        )


class ClaimOut(BaseModel):
    service: str
    status: str = Field(description="your waitlist entry's status: booked")
    booking: WaitlistBookingOut

    @classmethod
    def of(cls, done: Claimed, tz: tzinfo) -> ClaimOut:
        booking = WaitlistBookingOut.of(done.booking, tz)
        return cls(service=done.service, status=done.status, booking=booking)


class ConvertOut(BaseModel):
    entry: EntryOut
    booking: WaitlistBookingOut


class ClickOut(BaseModel):
    service: str
    status: str
    counted: bool = Field(description="false when this message's click was counted before")
    message: str

    @classmethod
    def of(cls, done: Clicked) -> ClickOut:
        return cls(
            service=done.service,
            status=done.status,
            counted=done.counted,
            message="Thank you: you are still on the list; we will write when there is a place.",
        )


def _slot(s: FreeSlot, tz: tzinfo) -> SlotOut:
    return SlotOut(
        start=s.start.astimezone(tz), end=s.end.astimezone(tz), practitioners=list(s.practitioners)
    )
