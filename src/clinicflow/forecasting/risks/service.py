"""The cached no-show risks, read per booking rather than as a ranked list: the staff's
calendar shows the risk of each visit it lists, and the notifications context asks which
upcoming visits pass the clinic's threshold for an extra reminder. Both read the cached
predictions (one table), never a model; neither names a patient (booking ids and scores)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from clinicflow.forecasting.domain.risks import NO_SHOW
from clinicflow.forecasting.guard import ForecastingGuard, may_read_risks
from clinicflow.forecasting.ports import ForecastingUnitOfWork
from clinicflow.forecasting.views import NoShowRisk
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor


@dataclass(kw_only=True, eq=False)
class BookingRisks:
    uow: UnitsOfWork[ForecastingUnitOfWork]
    guard: ForecastingGuard

    def may_read(self, actor: Actor) -> bool:
        """Whether `actor`'s role reads no-show risks (to show them, or not ask at all)."""
        return may_read_risks(actor)

    async def of_bookings(
        self, actor: Actor, booking_ids: Iterable[str], since: datetime
    ) -> dict[str, NoShowRisk]:
        """The cached risk of each of `booking_ids` starting at or after `since` (those
        without a cached prediction are left out: no model trained yet, or booked since the
        last prediction). Staff who care for patients only, as `GET /v1/forecasts/no-show`."""
        await self.guard.require_staff(actor, NO_SHOW)
        wanted = sorted(set(booking_ids))
        if not wanted:
            return {}
        async with self.uow.reading() as uow:
            rows = await uow.predictions.of_subjects(NO_SHOW, wanted)
        return {p.subject: NoShowRisk.of(p) for p in rows if p.at is not None and p.at >= since}

    async def above(self, threshold: float, start_from: datetime, start_to: datetime) -> list[str]:
        """The bookings starting in [start_from, start_to) whose cached risk is above
        `threshold`, riskiest first: the clinic's own job asks (no person acts, nothing is
        named), for the extra reminder."""
        async with self.uow.reading() as uow:
            rows = await uow.predictions.of(NO_SHOW, since=start_from)
        return [
            p.subject for p in rows if p.score > threshold and p.at is not None and p.at < start_to
        ]
