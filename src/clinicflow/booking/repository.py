"""Write-side steps over the booking tables, run inside a use case's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import errors, queries
from clinicflow.booking.commands import SlotRequest
from clinicflow.booking.domain.lifecycle import Action, Status, effective_status, next_status
from clinicflow.booking.events import booking_event
from clinicflow.booking.rules import VisitRequest
from clinicflow.booking.tables import appointments
from clinicflow.infra.outbox import record

a = appointments.c


async def locked(conn: AsyncConnection, booking_id: str) -> Any:
    row = await queries.get_row(conn, booking_id, lock=True)
    if row is None:
        raise errors.BookingNotFound(f"no booking {booking_id!r}")
    return row


async def update_row(conn: AsyncConnection, booking_id: str, values: dict[str, Any]) -> Any:
    result = await conn.execute(
        update(appointments).where(a.id == booking_id).values(**values).returning(appointments)
    )
    return result.one()


_EXPIRE_STALE = (
    update(appointments)
    .where(a.practitioner == bindparam("q_practitioner"), a.status == Status.HELD.value)
    .where(
        a.hold_expires_at <= bindparam("q_now"),
        a.block_start < bindparam("q_hi"),
        a.block_end > bindparam("q_lo"),
    )
    .values(status=Status.EXPIRED.value, updated_at=bindparam("q_now"))
    .returning(appointments)
)


async def expire_stale_holds(
    conn: AsyncConnection, practitioner: str, lo: datetime, hi: datetime, now: datetime
) -> None:
    """Lapsed holds still sit in the table; mark them expired before taking their time."""
    params = {"q_practitioner": practitioner, "q_now": now, "q_lo": lo, "q_hi": hi}
    result = await conn.execute(_EXPIRE_STALE, params)
    await record(conn, *(booking_event("hold_expired", row, now) for row in result.all()))


def transition(row: Any, action: Action, now: datetime) -> Status:
    """The status `action` leads to from the row's, or InvalidTransition."""
    current = effective_status(row.status, row.hold_expires_at, now)
    target = next_status(current, action)
    if target is None:
        raise errors.InvalidTransition(
            f"cannot {action.value} a booking that is {current.value}",
            current_status=current.value,
        )
    return target


def slot_values(
    visit: VisitRequest, start: datetime, practitioner: str, now: datetime
) -> dict[str, Any]:
    block_start, block_end = visit.block(start)
    return {
        "practitioner": practitioner,
        "duration_min": visit.duration,
        "start_at": start.astimezone(UTC),
        "end_at": (start + timedelta(minutes=visit.duration)).astimezone(UTC),
        "block_start": block_start.astimezone(UTC),
        "block_end": block_end.astimezone(UTC),
        "updated_at": now,
    }


def check_hold_matches(hold: Any, slot: SlotRequest) -> None:
    expected = {
        "service": (hold.service, slot.service),
        "visit_type": (hold.visit_type, slot.visit_type),
        "duration": (hold.duration_min, slot.duration),
        "start": (hold.start_at, slot.start.astimezone(UTC)),
    }
    if slot.practitioner is not None:
        expected["practitioner"] = (hold.practitioner, slot.practitioner)
    wrong = [name for name, (held, asked) in expected.items() if held != asked]
    if wrong:
        raise errors.HoldMismatch(
            f"the hold is for a different {', '.join(wrong)}; send the held values or drop hold_id",
            fields=wrong,
        )
