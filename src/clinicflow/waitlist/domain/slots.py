"""Slots the waitlist books: what a claim or a staff conversion asks for, the slot an offer
holds, and a booking found confirmed behind a claim that never finished."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clinicflow.catalog import Service
from clinicflow.waitlist.domain.links import Offer

INITIAL = "initial"  # launch waves invite people to their first visit


@dataclass(frozen=True, slots=True)
class Slot:
    """A visit to book or hold: the service's visit type and length, at `start`."""

    service: str
    visit_type: str
    duration: int
    start: datetime  # aware
    practitioner: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimAsk:
    """The visit a claim (or a staff conversion) books."""

    start: datetime
    duration: int | None = None  # None: the visit type's shortest
    visit_type: str = INITIAL
    practitioner: str | None = None


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def slot_for(service: Service, ask: ClaimAsk) -> tuple[Slot | None, list[tuple[str, str]]]:
    """The slot `ask` names; or None and the (field, what to change) that stops it."""
    vt = service.visit_types.get(ask.visit_type)
    if vt is None:
        known = ", ".join(service.visit_types)
        return None, [("visit_type", f"{service.name} has no {ask.visit_type!r} visit; "
                       f"choose one of {known}")]  # fmt: skip
    duration = ask.duration or min(vt.durations or (0,))
    return Slot(service.key, ask.visit_type, duration, ask.start, ask.practitioner), []


def slot_of(offer: Offer) -> Slot:
    return Slot(
        offer.service, offer.visit_type, offer.duration_min, offer.start_at, offer.practitioner
    )


def same_slot(offer: Offer, slot: Slot) -> bool:
    """The offer holds the very visit `slot` asks for."""
    return bool(
        offer.start_at == slot.start
        and offer.visit_type == slot.visit_type
        and offer.duration_min == slot.duration
        and slot.practitioner in (None, offer.practitioner)
    )


def new_offer(
    entry_id: str, hold_id: str, slot: Slot, token_hash: str, now: datetime, expires_at: datetime
) -> Offer:
    return Offer(
        id=str(uuid.uuid4()),
        entry_id=entry_id,
        hold_id=hold_id,
        service=slot.service,
        visit_type=slot.visit_type,
        duration_min=slot.duration,
        practitioner=slot.practitioner or "",
        start_at=slot.start.astimezone(UTC),
        token_hash=token_hash,
        status="made",
        expires_at=expires_at,
        created_at=now,
        status_at=now,
        booking_id=None,
    )


@dataclass(frozen=True, slots=True)
class Recovered:
    """A booking found confirmed behind an offer's claim that never finished."""

    offer: Offer
    patient_id: str | None

    @property
    def id(self) -> str:
        return self.offer.hold_id

    @property
    def status(self) -> str:
        return "confirmed"

    @property
    def service(self) -> str:
        return self.offer.service

    @property
    def visit_type(self) -> str:
        return self.offer.visit_type

    @property
    def duration(self) -> int:
        return self.offer.duration_min

    @property
    def practitioner(self) -> str:
        return self.offer.practitioner

    @property
    def start(self) -> datetime:
        return self.offer.start_at

    @property
    def end(self) -> datetime:
        return self.offer.start_at + minutes(self.offer.duration_min)
