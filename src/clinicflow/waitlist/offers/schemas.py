"""HTTP shape of a freed-slot offer. Times are given in the clinic's zone; no PHI."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, tzinfo

from pydantic import BaseModel, Field

from clinicflow.waitlist.offers.views import OfferView


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
        """The view as it is, its times in the clinic's zone."""
        local = {"expires_at": v.expires_at.astimezone(tz), "start": v.start.astimezone(tz)}
        return cls(**asdict(v) | local)
