"""What an offer's view hands back: the held slot and the link's state, no PHI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OfferView:
    service: str
    service_name: str
    status: str
    expires_at: datetime
    visit_type: str
    duration: int
    practitioner: str
    start: datetime
    booking_id: str | None
