"""The analytics context's wiring: the lake writer over the Iceberg lake, with the patients'
traits it coarsens read through the patients context's public surface."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.adapters.lake.iceberg import IcebergLake, open_catalog
from clinicflow.analytics.domain.lake import PatientTraits, Pseudonyms
from clinicflow.analytics.guard import AnalyticsGuard
from clinicflow.analytics.jobs import lake_job
from clinicflow.analytics.ports import Span
from clinicflow.analytics.queries import DuckDbMetrics
from clinicflow.analytics.repository import SqlAnalyticsUnitOfWork
from clinicflow.analytics.service import AnalyticsReports, AvailabilityViews, LakeWriter
from clinicflow.bootstrap.core import Core
from clinicflow.calendars.repository import SqlCalendarsUnitOfWork
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.jobs import Job
from clinicflow.infra.unit_of_work import Factory
from clinicflow.patients import PatientTraitsBook
from clinicflow.settings import Settings


@dataclass(frozen=True)
class AnalyticsParts:
    lake: IcebergLake
    writer: LakeWriter
    job: Job  # the writer, every `lake_sync_seconds`, in each worker (and serve, embedded)
    reports: AnalyticsReports  # the metrics over the lake
    views: AvailabilityViews  # the funnel's anonymous availability counts


class _StoredBusy:
    """analytics' `ExternalBusy` over the calendars context's busy-time store, as stored
    (whatever its sources' freshness now: the past does not go stale)."""

    def __init__(self, db: Database) -> None:
        self._uow = Factory(db, SqlCalendarsUnitOfWork)

    async def busy(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Span]]:
        async with self._uow.reading() as uow:
            found = await uow.busy.blocking(practitioners, start, end)
        out: dict[str, list[Span]] = {}
        for i in found:
            out.setdefault(i.practitioner, []).append((i.start, i.end))
        return out


class _PatientsTraits:
    """analytics' `PatientFacts` over the patients context, in a read transaction of its own."""

    def __init__(self, db: Database, book: PatientTraitsBook) -> None:
        self._db = db
        self._book = book

    async def traits(self, patient_ids: Collection[str]) -> Mapping[str, PatientTraits]:
        async with self._db.read() as conn:
            found = await self._book.on(conn).traits(patient_ids)
        return {
            t.patient_id: PatientTraits(
                zip_code=t.zip_code,
                birth_date=t.birth_date,
                source=t.referral_source,
                deidentified=t.deidentified,
            )
            for t in found
        }


def lake_key(keys: KeyRing) -> bytes:
    """The key of the lake's pseudonyms, derived from the blind-index key (which never
    rotates with the encryption keys, so a patient keeps one pseudonym across rotations)."""
    return hmac.new(keys.index_key, b"analytics lake pseudonyms", hashlib.sha256).digest()


def iceberg_lake(settings: Settings) -> IcebergLake:
    extra = {"s3.endpoint": settings.lake_s3_endpoint} if settings.lake_s3_endpoint else {}
    return IcebergLake(
        functools.partial(
            open_catalog,
            settings.resolved_lake_catalog_url,
            settings.resolved_lake_warehouse,
            **extra,
        )
    )


def lake_writer(
    settings: Settings, db: Database, keys: KeyRing, lake: IcebergLake | None = None
) -> LakeWriter:
    """The writer alone, for the `clinicflow analytics` commands (no app is built)."""
    return LakeWriter(
        uow=Factory(db, SqlAnalyticsUnitOfWork),
        lake=lake or iceberg_lake(settings),
        patients=_PatientsTraits(db, PatientTraitsBook(keys)),
        names=Pseudonyms(lake_key(keys)),
        batch=settings.lake_batch_size,
    )


def wire_analytics(core: Core) -> AnalyticsParts:
    lake = iceberg_lake(core.settings)
    writer = lake_writer(core.settings, core.db, core.keys, lake)
    settings = core.settings
    every = timedelta(seconds=settings.lake_sync_seconds)
    units = Factory(core.db, SqlAnalyticsUnitOfWork)
    views = AvailabilityViews(
        uow=units,
        catalog=core.catalog,
        clock=core.clock,
        every=settings.analytics_views_flush_seconds,
    )
    reports = AnalyticsReports(
        uow=units,
        lake=lake,
        engine=DuckDbMetrics(),
        catalog=core.catalog,
        busy=_StoredBusy(core.db),
        guard=AnalyticsGuard(core.trail),
        views=views,
        churn_days=settings.analytics_churn_days,
        churn_default=settings.analytics_churn_default_days,
        min_cell=settings.analytics_min_cell,
    )
    return AnalyticsParts(
        lake=lake, writer=writer, job=lake_job(writer, every), reports=reports, views=views
    )
