"""What a claim (an invitation's or an offer's) hands back."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.waitlist.ports import Booked


@dataclass(frozen=True, slots=True)
class Claimed:
    service: str
    status: str  # the entry's: booked
    booking: Booked
