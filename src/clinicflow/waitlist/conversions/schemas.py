"""HTTP shapes for claims and staff conversions: the visit asked for, and the booking made.
Times are given in the clinic's zone."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from clinicflow.infra.request_input import RequestModel
from clinicflow.waitlist.conversions.views import Claimed
from clinicflow.waitlist.domain.slots import ClaimAsk
from clinicflow.waitlist.entries.schemas import EntryOut
from clinicflow.waitlist.ports import Booked

Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]


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
        local = {"start": b.start.astimezone(tz), "end": b.end.astimezone(tz)}
        return cls.model_validate(b, from_attributes=True).model_copy(update=local)


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
