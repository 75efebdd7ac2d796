"""An appointment as stored: the row of `booking_appointment`, as a value.

The repository builds one per row (the fields are the table's columns, in its order); the
use cases judge it with the rules below.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from clinicflow.booking import errors
from clinicflow.booking.commands import SlotRequest
from clinicflow.booking.domain.lifecycle import Action, Status, effective_status, next_status


@dataclass(frozen=True, slots=True)
class Appointment:
    id: str
    service: str
    visit_type: str
    duration_min: int
    practitioner: str
    patient_id: str | None
    status: str  # as stored: a lapsed hold still reads "held" (see `status_at`)
    start_at: datetime  # UTC
    end_at: datetime
    block_start: datetime  # the time it occupies, buffers included
    block_end: datetime
    hold_expires_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def new(
        cls,
        service: str,
        visit_type: str,
        times: SlotTimes,
        patient_id: str | None,
        status: Status,
        now: datetime,
        hold_expires_at: datetime | None = None,
    ) -> Appointment:
        """A visit (or hold) to insert, under a new id."""
        return cls(
            str(uuid.uuid4()),
            service,
            visit_type,
            times.duration_min,
            times.practitioner,
            patient_id,
            status.value,
            times.start_at,
            times.end_at,
            times.block_start,
            times.block_end,
            hold_expires_at,
            None,
            now,
            now,
        )

    def status_at(self, now: datetime) -> Status:
        return effective_status(self.status, self.hold_expires_at, now)

    def transition(self, action: Action, now: datetime) -> Status:
        """The status `action` leads to from this one's, or InvalidTransition."""
        current = self.status_at(now)
        target = next_status(current, action)
        if target is None:
            raise errors.InvalidTransition(
                f"cannot {action.value} a booking that is {current.value}",
                current_status=current.value,
            )
        return target

    def check_hold_matches(self, slot: SlotRequest) -> None:
        """A hold is confirmed only for the visit it holds."""
        expected: dict[str, tuple[object, object]] = {
            "service": (self.service, slot.service),
            "visit_type": (self.visit_type, slot.visit_type),
            "duration": (self.duration_min, slot.duration),
            "start": (self.start_at, slot.start.astimezone(UTC)),
        }
        if slot.practitioner is not None:
            expected["practitioner"] = (self.practitioner, slot.practitioner)
        wrong = [name for name, (held, asked) in expected.items() if held != asked]
        if wrong:
            raise errors.HoldMismatch(
                "the hold is for a different "
                f"{', '.join(wrong)}; send the held values or drop hold_id",
                fields=wrong,
            )


@dataclass(frozen=True, slots=True)
class SlotTimes:
    """Where and when a visit sits: what placing (or moving) it writes."""

    practitioner: str
    duration_min: int
    start_at: datetime  # UTC
    end_at: datetime
    block_start: datetime
    block_end: datetime
