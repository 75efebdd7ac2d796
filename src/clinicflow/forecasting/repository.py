"""The forecasting unit of work: the model registry and the cached predictions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, Select, case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.forecasting.tables import models, predictions
from clinicflow.forecasting.views import ModelEntry, Prediction, Reason, RiskSummary
from clinicflow.infra.columns import stored
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection

m = models.c
p = predictions.c


def _entry(row: Row[tuple[object, ...]]) -> ModelEntry:
    r = row._mapping
    return ModelEntry(
        id=str(r["id"]),
        kind=str(r["kind"]),
        version=int(str(r["version"])),
        trained_at=r["trained_at"],
        window_start=r["window_start"],
        window_end=r["window_end"],
        features=tuple(str(f) for f in r["features"]),
        metrics=dict(r["metrics"]),
        data_hash=str(r["data_hash"]),
        artifact_sha256=str(r["artifact_sha256"]),
        artifact=bytes(r["artifact"]),
    )


class SqlRegistry:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, entry: ModelEntry) -> None:
        row = stored(models, entry) | {"features": list(entry.features)}  # a JSON array
        await self._conn.execute(insert(models).values(row))

    async def next_version(self, kind: str) -> int:
        top = select(func.coalesce(func.max(m.version), 0)).where(m.kind == kind)
        return int((await self._conn.execute(top)).scalar_one()) + 1

    async def latest(self, kind: str) -> ModelEntry | None:
        query = select(models).where(m.kind == kind).order_by(m.version.desc()).limit(1)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _entry(row)

    async def get(self, model_id: str) -> ModelEntry | None:
        row = (await self._conn.execute(select(models).where(m.id == model_id))).first()
        return None if row is None else _entry(row)

    async def all(self) -> list[ModelEntry]:
        rows = await self._conn.execute(select(models).order_by(m.kind, m.version))
        return [_entry(row) for row in rows]


class SqlPredictionCache:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def replace(self, kind: str, rows: Sequence[Prediction]) -> None:
        await self._conn.execute(delete(predictions).where(p.kind == kind))
        if rows:
            await self._conn.execute(
                insert(predictions),
                [
                    stored(predictions, r)
                    | {"reasons": [[x.feature, x.value, x.weight] for x in r.reasons]}
                    for r in rows
                ],
            )

    async def of(
        self, kind: str, since: datetime | None = None, limit: int | None = None
    ) -> list[Prediction]:
        query = select(predictions).where(p.kind == kind)
        if since is not None:
            query = query.where(p.at >= since)
        query = query.order_by(p.score.desc(), p.subject, p.service)
        if limit is not None:
            query = query.limit(limit)
        return await self._read(query)

    async def of_subjects(self, kind: str, subjects: Sequence[str]) -> list[Prediction]:
        found: list[Prediction] = []
        for at in range(0, len(subjects), 500):  # bound the IN list
            chunk = list(subjects[at : at + 500])
            found += await self._read(
                select(predictions)
                .where(p.kind == kind, p.subject.in_(chunk))
                .order_by(p.score.desc(), p.subject, p.service)
            )
        return found

    async def _read(self, query: Select[tuple[object, ...]]) -> list[Prediction]:
        rows = await self._conn.execute(query)
        return [
            Prediction(
                kind=str(r.kind),
                subject=str(r.subject),
                service=str(r.service),
                at=r.at,
                score=float(r.score),
                reasons=tuple(Reason(str(f), str(v), float(w)) for f, v, w in r.reasons),
                model_id=str(r.model_id),
                made_at=r.made_at,
                ref=None if r.ref is None else str(r.ref),
            )
            for r in rows
        ]

    async def summary(
        self, kind: str, high_risk: float, since: datetime | None = None
    ) -> list[RiskSummary]:
        high = func.sum(case((p.score >= high_risk, 1), else_=0))
        query = select(p.service, func.count(), func.avg(p.score), high).where(p.kind == kind)
        if since is not None:
            query = query.where(p.at >= since)
        rows = await self._conn.execute(query.group_by(p.service).order_by(p.service))
        return [
            RiskSummary(
                kind=kind,
                service=str(service),
                count=int(count),
                mean_risk=round(float(mean), 4),
                high_risk=int(above or 0),
            )
            for service, count, mean, above in rows
        ]


class SqlForecastingUnitOfWork(UnitOfWork):
    registry = on_connection(SqlRegistry)
    predictions = on_connection(SqlPredictionCache)
