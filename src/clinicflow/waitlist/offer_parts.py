"""Pieces of freed-slot offers: the slot an offer row describes, a new offer row's values,
and a booking found confirmed behind a claim that never finished."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clinicflow.waitlist.ports import Slot


@dataclass(frozen=True, slots=True)
class Recovered:
    """A booking found confirmed behind a claim that never finished."""

    offer: Any
    patient_id: str | None

    @property
    def id(self) -> str:
        return str(self.offer.hold_id)

    @property
    def status(self) -> str:
        return "confirmed"

    @property
    def service(self) -> str:
        return str(self.offer.service)

    @property
    def visit_type(self) -> str:
        return str(self.offer.visit_type)

    @property
    def duration(self) -> int:
        return int(self.offer.duration_min)

    @property
    def practitioner(self) -> str:
        return str(self.offer.practitioner)

    @property
    def start(self) -> datetime:
        return self.offer.start_at  # type: ignore[no-any-return]

    @property
    def end(self) -> datetime:
        return self.offer.start_at + minutes(self.offer.duration_min)  # type: ignore[no-any-return]


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def slot_of(offer: Any) -> Slot:
    return Slot(
        offer.service, offer.visit_type, offer.duration_min, offer.start_at, offer.practitioner
    )


def offer_values(
    entry: Any, hold_id: str, slot: Slot, token_hash: str, now: datetime, expires_at: datetime
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "entry_id": entry.id,
        "hold_id": hold_id,
        "service": slot.service,
        "visit_type": slot.visit_type,
        "duration_min": slot.duration,
        "practitioner": slot.practitioner or "",
        "start_at": slot.start,
        "token_hash": token_hash,
        "status": "made",
        "expires_at": expires_at,
        "created_at": now,
        "status_at": now,
    }
