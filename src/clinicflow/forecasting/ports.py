"""What forecasting needs from outside: the lake's files (read, never written), the model
registry and the cached predictions (its unit of work), the lake's rows as features, and the
patients' names for the staff's churn list (resolved outside the models)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from clinicflow.forecasting.demand.domain.series import Visit
from clinicflow.forecasting.domain.frame import Features
from clinicflow.forecasting.views import ModelEntry, Prediction, RiskSummary
from clinicflow.forecasting.waitlist.domain.conversion import Invitation
from clinicflow.infra.unit_of_work import Transaction


class LakeFiles(Protocol):
    """The analytics lake as a reader sees it: the current snapshot's Parquet files."""

    async def files(self) -> list[str]: ...


class Registry(Protocol):
    async def add(self, entry: ModelEntry) -> None: ...

    async def next_version(self, kind: str) -> int: ...

    async def latest(self, kind: str) -> ModelEntry | None: ...

    async def get(self, model_id: str) -> ModelEntry | None: ...

    async def all(self) -> list[ModelEntry]: ...


class PredictionCache(Protocol):
    async def replace(self, kind: str, rows: Sequence[Prediction]) -> None:
        """The kind's cached predictions become `rows` (the older ones go)."""
        ...

    async def of(
        self, kind: str, since: datetime | None = None, limit: int | None = None
    ) -> list[Prediction]:
        """The kind's predictions (no_show: those starting at or after `since`), riskiest
        first; the first `limit` of them when given."""
        ...

    async def summary(
        self, kind: str, high_risk: float, since: datetime | None = None
    ) -> list[RiskSummary]:
        """Per service (by name): how many of the kind's predictions (since `since`, as in
        `of`), their mean score, and how many score `high_risk` or more."""
        ...

    async def of_subjects(self, kind: str, subjects: Sequence[str]) -> list[Prediction]:
        """The kind's predictions of these subjects (booking ids, or patient keys)."""
        ...


class ForecastingUnitOfWork(Transaction, Protocol):
    @property
    def registry(self) -> Registry: ...

    @property
    def predictions(self) -> PredictionCache: ...


class PatientFinder(Protocol):
    """Staff-side only: the patient behind a patient key, found through one of their bookings
    and checked against the key (bootstrap wires it over the booking and patients contexts'
    public surfaces). Never handed to a model."""

    async def find(self, refs: Sequence[tuple[str, str]]) -> Mapping[str, tuple[str, str | None]]:
        """`refs`: (patient key, booking id) pairs; answers key → (patient id, full name)."""
        ...


class FeatureSource(Protocol):
    def __call__(self, files: Sequence[str]) -> Features: ...


class PlanningHistory(Protocol):
    """The lake's rows as the planning models read them (`demand/queries.py` `LakeHistory`)."""

    def visits(self) -> list[Visit]: ...

    def invitations(self) -> list[Invitation]: ...

    def waiting(self) -> list[Invitation]:
        """The never-invited entries, as if invited at the lake's last event."""
        ...

    def last_event(self) -> datetime | None: ...

    def close(self) -> None: ...


class HistorySource(Protocol):
    def __call__(self, files: Sequence[str]) -> PlanningHistory: ...
