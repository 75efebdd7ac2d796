"""What a message is about: a visit (booking events, reminders) or a payment (receipts,
refunds). A message's kind says which, so a stored row's facts are read back as the subject
its text was rendered from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicflow.notifications.domain.payment import PAYMENT_KINDS, PaymentNotice
from clinicflow.notifications.domain.visit import Visit

Subject = Visit | PaymentNotice

_PAYMENT_KINDS = frozenset(PAYMENT_KINDS.values())


def subject_from_facts(kind: str, facts: Mapping[str, Any]) -> Subject:
    if kind in _PAYMENT_KINDS:
        return PaymentNotice.from_facts(facts)
    return Visit.from_facts(facts)


def booking_of(subject: Subject) -> str | None:
    """The booking a message row is filed under: a payment's message belongs to no single
    booking (and must not count in a booking's calendar-invitation sequence)."""
    return subject.booking_id if isinstance(subject, Visit) else None
