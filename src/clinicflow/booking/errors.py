"""Booking's domain errors; the gateway maps each `code` to problem+json."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, DomainError, InvalidRequest, NotFound


class UnknownService(InvalidRequest, code="unknown_service"): ...


class ServiceNotBookable(
    DomainError, code="service_not_bookable", status=422, title="Service cannot be booked"
): ...


class UnknownVisitType(InvalidRequest, code="unknown_visit_type"): ...


class DurationNotAllowed(InvalidRequest, code="duration_not_allowed"): ...


class UnknownPractitioner(InvalidRequest, code="unknown_practitioner"): ...


class PractitionerNotEligible(InvalidRequest, code="practitioner_not_eligible"): ...


class OutsideWorkingHours(InvalidRequest, code="outside_working_hours"): ...


class TooLittleNotice(InvalidRequest, code="too_little_notice"): ...


class TooFarAhead(InvalidRequest, code="too_far_ahead"): ...


class RangeTooLong(InvalidRequest, code="range_too_long"): ...


class SlotUnavailable(Conflict, code="slot_unavailable", title="Slot unavailable"): ...


class BookingBusy(
    DomainError, code="booking_busy", status=503, title="Too many bookings for this time at once"
):
    """PostgreSQL kept breaking this booking's deadlocks with others: the caller may retry."""


class PatientUnavailable(
    Conflict, code="patient_unavailable", title="Patient already has a visit then"
): ...


class HoldExpired(Conflict, code="hold_expired", title="Hold expired"): ...


class HoldMismatch(Conflict, code="hold_mismatch", title="Hold does not match the booking"): ...


class TooEarly(Conflict, code="too_early", title="Too early for this step of the visit"): ...


class InvalidTransition(
    Conflict, code="invalid_transition", title="Not allowed in the booking's current status"
): ...


class IdempotencyKeyReused(InvalidRequest, code="idempotency_key_reused"): ...


class BookingNotFound(NotFound, code="booking_not_found"): ...


class HoldNotFound(NotFound, code="hold_not_found"): ...


class InvalidRange(InvalidRequest, code="invalid_range"): ...


class SlotContended(Exception):
    """Another transaction is placing a visit at the same practitioner's time right now (a
    group-commit member that only tried the slot locks: domain/locks.py)."""


class RaceLost(Exception):
    """A concurrent writer won: the database's constraints refused this transaction's row.
    The next attempt sees the winner and answers as the checks would have. `taken` names what
    the winner took (`"slot"`, `"patient"`), None for another constraint."""

    def __init__(self, taken: str | None) -> None:
        super().__init__(taken or "constraint")
        self.taken = taken


class Deadlocked(Exception):
    """PostgreSQL broke a deadlock or a serialization conflict by rolling this transaction
    back: another attempt may pass."""
