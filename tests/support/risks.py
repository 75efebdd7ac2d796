"""No-show risks cached as `clinicflow ml predict` caches them, through the forecasting
context's own repository (no model is trained: the tests of what uses the risks need only
the cache)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from clinicflow.bootstrap import Container
from clinicflow.forecasting.repository import SqlForecastingUnitOfWork
from clinicflow.forecasting.views import Prediction, Reason
from clinicflow.infra.unit_of_work import Factory

MODEL = "00000000-0000-0000-0000-000000000019"
Risk = tuple[str, datetime, float, tuple[Reason, ...]]  # booking id, its start, score, why


async def cache_no_show(container: Container, risks: Sequence[Risk]) -> None:
    """The cached no-show predictions become `risks` (the older ones go)."""
    made = [
        Prediction(
            kind="no_show",
            subject=booking_id,
            service="alternative_medicine",
            at=at.astimezone(UTC),
            score=score,
            reasons=reasons,
            model_id=MODEL,
            made_at=container.clock.now(),
            ref="doctor1",
        )
        for booking_id, at, score, reasons in risks
    ]
    async with Factory(container.db, SqlForecastingUnitOfWork)() as uow:
        await uow.predictions.replace("no_show", made)
        await uow.commit()
