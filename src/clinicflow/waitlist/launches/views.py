"""What launching a service and an invitation's view hand back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.waitlist.ports import FreeSlot


@dataclass(frozen=True, slots=True)
class Wave:
    service: str
    number: int
    capacity: int
    invited: int


@dataclass(frozen=True, slots=True)
class Launched:
    service: str
    launched_at: datetime
    wave: Wave | None


@dataclass(frozen=True, slots=True)
class InvitationView:
    service: str
    service_name: str
    status: str  # sent (open) | claiming | claimed | expired | withdrawn
    expires_at: datetime
    durations: dict[str, list[int]]  # visit type → allowed lengths
    slots: list[FreeSlot]
    booking_id: str | None
