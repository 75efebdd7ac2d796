"""Retention of lapsed holds: a hold that was never confirmed is deleted once it is old.

Due: a row still stored as held whose hold expired before the cutoff (nothing marked it
expired because no one booked near it), and a row marked expired whose last change is
before the cutoff. The cutoff is `expired_holds_days` before now. Confirmed, cancelled and
attended bookings are the visit history and never go here.
"""

from __future__ import annotations

from datetime import datetime

from clinicflow.booking.ports import BookingUnitOfWork
from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra.unit_of_work import UnitsOfWork


class HoldRetention:
    def __init__(self, *, uow: UnitsOfWork[BookingUnitOfWork]) -> None:
        self._uow = uow

    async def due(self, policy: RetentionPolicy, now: datetime) -> list[str]:
        """Ids of the lapsed holds past retention, oldest first."""
        async with self._uow.reading() as uow:
            return await uow.appointments.lapsed_holds(policy.holds_cutoff(now))

    async def delete_due(self, policy: RetentionPolicy, now: datetime) -> list[str]:
        """Delete the lapsed holds (and their idempotency keys) in one write transaction;
        the rule is judged again in it, so a hold confirmed since a dry run stays."""
        async with self._uow() as uow:
            deleted = await uow.appointments.delete_lapsed_holds(policy.holds_cutoff(now))
            await uow.commit()
        return deleted
