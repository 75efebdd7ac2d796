"""Retention of withdrawn waitlist entries: deleted, with everything that hangs off them
(engagement, invitations, offers, nurture records), once `cancelled_waitlist_entries_days`
have passed since they were withdrawn. Entries still waiting, booked or converted are not
touched: the first are live, the others are the conversion history the statistics count.

(The waitlist's periodic jobs — offers, waves, nurture — are its use cases' own: see
`Waitlist.jobs`.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.waitlist.ports import WaitlistUnitOfWork


class WaitlistRetention:
    def __init__(self, *, uow: UnitsOfWork[WaitlistUnitOfWork]) -> None:
        self._uow = uow

    @staticmethod
    def cutoff(policy: RetentionPolicy, now: datetime) -> datetime:
        return now - timedelta(days=policy.cancelled_waitlist_entries_days)

    async def due(self, policy: RetentionPolicy, now: datetime) -> list[str]:
        """Ids of the entries `delete_due` would delete now, the longest withdrawn first."""
        async with self._uow.reading() as uow:
            return await uow.entries.withdrawn_before(self.cutoff(policy, now))

    async def delete_due(self, policy: RetentionPolicy, now: datetime) -> list[str]:
        """The rule judged again as it deletes (rows locked): the ids deleted."""
        async with self._uow() as uow:
            deleted = await uow.entries.delete_withdrawn_before(self.cutoff(policy, now))
            await uow.commit()
        return deleted
