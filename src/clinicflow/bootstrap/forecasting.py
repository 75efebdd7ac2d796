"""The forecasting context's wiring: the models read the analytics lake's files (through
the lake adapter; the planning models through `LakeHistory`), and the staff's churn list
finds the patient behind a patient key through the booking and patients contexts' public
surfaces, checked against the key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from clinicflow.adapters.lake.iceberg import IcebergLake
from clinicflow.analytics.domain.lake import Kind, Pseudonyms
from clinicflow.booking import bookings_now
from clinicflow.bootstrap.analytics import iceberg_lake, lake_key
from clinicflow.bootstrap.core import Core
from clinicflow.bootstrap.waitlist import load_policy
from clinicflow.catalog import Catalog
from clinicflow.forecasting.demand.queries import LakeHistory
from clinicflow.forecasting.domain.planning import PlanningSetup
from clinicflow.forecasting.guard import ForecastingGuard
from clinicflow.forecasting.jobs import retrain_job
from clinicflow.forecasting.queries import LakeReader
from clinicflow.forecasting.repository import SqlForecastingUnitOfWork
from clinicflow.forecasting.risks.service import BookingRisks
from clinicflow.forecasting.service import ModelTraining, RiskReports
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.jobs import Job
from clinicflow.infra.unit_of_work import Factory
from clinicflow.patients import PatientNames
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.domain.policy import WaitlistPolicy


@dataclass(frozen=True)
class ForecastingParts:
    training: ModelTraining
    reports: RiskReports
    risks: BookingRisks  # per booking: the staff calendar, the extra reminder
    job: Job  # the nightly retrain


class _Source:
    """forecasting's `FeatureSource`: the lake's files read by DuckDB as the models' rows."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self._tz = catalog.clinic.timezone
        self._churn = dict(settings.analytics_churn_days)
        self._default = settings.analytics_churn_default_days
        self._late = catalog.payments.cancellation.full_refund_hours

    def __call__(self, files: Sequence[str]) -> LakeReader:
        return LakeReader(files, self._tz, self._churn, self._default, self._late)


class _PatientsByKey:
    """forecasting's `PatientFinder`: a key's patient through their booking, kept only when
    the booking's patient has that key (a merge or a de-identification since: not listed).
    A page of keys costs two queries (their bookings, then their patients' sealed names),
    whatever its length."""

    def __init__(self, db: Database, keys: KeyRing) -> None:
        self._db = db
        self._names = PatientNames(keys)
        self._pseudonyms = Pseudonyms(lake_key(keys))

    async def find(self, refs: Sequence[tuple[str, str]]) -> Mapping[str, tuple[str, str | None]]:
        owners: dict[str, str] = {}
        async with self._db.read() as conn:
            bookings = await bookings_now(conn, [booking_id for _, booking_id in refs])
            for key, booking_id in refs:
                now = bookings.get(booking_id)
                if now is None or now.patient_id is None:
                    continue
                if self._pseudonyms.of(Kind.PATIENT, now.patient_id) != key:
                    continue
                owners[key] = now.patient_id
            names = await self._names.on(conn).full_names(owners.values())
        return {key: (pid, names.get(pid)) for key, pid in owners.items()}


def model_training(
    settings: Settings,
    db: Database,
    catalog: Catalog,
    clock: Clock,
    lake: IcebergLake | None = None,
    policy: WaitlistPolicy | None = None,
) -> ModelTraining:
    """The training alone, for the `clinicflow ml` commands (no app is built): the risks
    over the lake's features, the planning models over its history with the clinic's
    practitioners, time zone and waitlist policy (docs/ml-planning.md)."""
    return ModelTraining(
        uow=Factory(db, SqlForecastingUnitOfWork),
        lake=lake or iceberg_lake(settings),
        source=_Source(settings, catalog),
        clock=clock,
        history=LakeHistory,
        planning=PlanningSetup(
            tuple(catalog.practitioners.values()),
            catalog.clinic.tz,
            policy or load_policy(settings.config_path),
        ),
    )


def wire_forecasting(core: Core, lake: IcebergLake, policy: WaitlistPolicy) -> ForecastingParts:
    training = model_training(core.settings, core.db, core.catalog, core.clock, lake, policy)
    uow = Factory(core.db, SqlForecastingUnitOfWork)
    guard = ForecastingGuard(core.trail)
    reports = RiskReports(
        uow=uow, patients=_PatientsByKey(core.db, core.keys), guard=guard, clock=core.clock
    )
    risks = BookingRisks(uow=uow, guard=guard)
    every = timedelta(hours=core.settings.ml_retrain_hours)
    return ForecastingParts(training, reports, risks, retrain_job(training, every))
