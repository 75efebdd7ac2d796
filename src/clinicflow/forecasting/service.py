"""The use cases: train the no-show and churn models on the lake, evaluate them on a later
period they never trained on, keep each in the registry, cache their predictions, and answer
the staff's risk lists and the analysts' aggregates from that cache (docs/ml.md). The
planning models (demand, waitlist conversion, schedule proposal: `domain/planning.py`) are
evaluated, kept and predicted beside them.

The risks' time splits: `domain/risks.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np

from clinicflow.forecasting.demand.domain.model import Engine
from clinicflow.forecasting.domain import churn as churn_model
from clinicflow.forecasting.domain import no_show as no_show_model
from clinicflow.forecasting.domain.artifact import Fitted, dump, load, sha256
from clinicflow.forecasting.domain.frame import Features, Frame
from clinicflow.forecasting.domain.planning import (
    DEMAND,
    PLANNING,
    SCHEDULE,
    WAITLIST,
    PlanningData,
    PlanningSetup,
    Scored,
    evaluate_planning,
    fit_planning,
    predict_planning,
)
from clinicflow.forecasting.domain.risks import (
    CHURN,
    HELD_OUT_DAYS,
    KINDS,
    NO_SHOW,
    Step,
    evaluate_lake,
    fit_lake,
)
from clinicflow.forecasting.domain.tabular import Scorer
from clinicflow.forecasting.errors import NoModel, NotEnoughHistory
from clinicflow.forecasting.guard import ForecastingGuard
from clinicflow.forecasting.ports import (
    FeatureSource,
    ForecastingUnitOfWork,
    HistorySource,
    LakeFiles,
    PatientFinder,
)
from clinicflow.forecasting.scheduling.domain.proposal import Solver
from clinicflow.forecasting.views import (
    ChurnRisk,
    ModelEntry,
    NoShowRisk,
    Prediction,
    Reason,
    RiskSummary,
)
from clinicflow.forecasting.waitlist.domain.model import Model
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.records import from_attributes

__all__ = ["HELD_OUT_DAYS", "ModelTraining", "RegistrySettings", "RiskReports"]
ALL_KINDS = (*KINDS, *PLANNING)
T = TypeVar("T")


def _quiet(_: str) -> None:
    pass


def _reasons(found: list[tuple[str, str, float]]) -> tuple[Reason, ...]:
    return tuple(Reason(f, v, w) for f, v, w in found)


def _predictions(
    entry: ModelEntry,
    now: datetime,
    model: Scorer,
    rows: Frame,
    subject: str,
    at: Sequence[datetime | None],
    refs: Sequence[str | None],
) -> list[Prediction]:
    """Each row's score and reasons under `entry`'s `model`; `subject`: the column naming
    what the row is about."""
    scores = model.predict(rows) if len(rows) else np.zeros(0)
    why = model.reasons(rows) if len(rows) else []
    return [
        Prediction(
            kind=entry.kind,
            subject=str(rows[subject][i]),
            service=str(rows["service"][i]),
            at=at[i],
            score=round(float(scores[i]), 4),
            reasons=_reasons(why[i]),
            model_id=entry.id,
            made_at=now,
            ref=refs[i],
        )
        for i in range(len(rows))
    ]


def predict_lake(
    features: Features, entries: Sequence[ModelEntry], now: datetime
) -> dict[str, list[Prediction]]:
    """Each model's predictions from its registry entry: upcoming bookings' no-show risk,
    and the churn risk of every patient still in care on `now`'s day."""
    out: dict[str, list[Prediction]] = {}
    for entry in entries:
        parts = load(entry.artifact)
        if entry.kind == NO_SHOW:
            model = no_show_model.NoShowModel.of(parts)
            frame = features.bookings()
            upcoming = (frame["status"] == "confirmed") & (
                frame.floats("start_ts") > now.timestamp()
            )
            rows = frame.where(np.asarray(upcoming, dtype=bool))
            out[NO_SHOW] = _predictions(
                entry,
                now,
                model,
                rows,
                subject="booking_id",
                at=[datetime.fromtimestamp(float(t), UTC) for t in rows["start_ts"]],
                refs=[str(p) for p in rows["practitioner"]],
            )
        elif entry.kind == CHURN:
            cm = churn_model.ChurnModel.of(parts)
            rows = features.churn(now, now)
            out[CHURN] = _predictions(
                entry,
                now,
                cm,
                rows,
                subject="patient_key",
                at=[None] * len(rows),
                refs=[None if r is None else str(r) for r in rows["last_booking_id"]],
            )
    return out


def _prediction(kind: str, row: Scored, model_id: str, now: datetime) -> Prediction:
    reasons = tuple(Reason(f, v, w) for f, v, w in row.reasons)
    return Prediction(kind, row.subject, row.service, row.at, row.score, reasons, model_id, now)


@dataclass(kw_only=True, eq=False)
class ModelTraining:
    """`clinicflow ml train|evaluate|predict` and the nightly job, for all five models: the
    risks read the lake through `source`, the planning models through `history` with the
    clinic's `planning` setup (without them, those three are skipped)."""

    uow: UnitsOfWork[ForecastingUnitOfWork]
    lake: LakeFiles
    source: FeatureSource
    clock: Clock
    history: HistorySource | None = None
    planning: PlanningSetup | None = None
    seed: int = 0

    async def _read(self, work: Callable[[Features, PlanningData | None], T]) -> T:
        files = await self.lake.files()

        def run() -> T:
            features = self.source(files)
            try:
                return work(features, self._planning_data(files))
            finally:
                features.close()

        return await asyncio.to_thread(run)

    def _planning_data(self, files: Sequence[str]) -> PlanningData | None:
        if self.history is None or self.planning is None:
            return None
        history = self.history(files)
        try:
            return PlanningData(
                tuple(history.visits()),
                tuple(history.invitations()),
                tuple(history.waiting()),
                history.last_event(),
            )
        finally:
            history.close()

    def _judge(
        self, features: Features, data: PlanningData | None, step: Step
    ) -> dict[str, dict[str, object]]:
        """Every model's held-out figures under the issue's keys; a model the lake cannot
        judge yet: `{"skipped": why}`."""
        found: dict[str, object] = {}
        try:
            found.update(evaluate_lake(features, self.seed, step))
        except NotEnoughHistory as exc:
            found.update({k: {"skipped": str(exc)} for k in KINDS})
        if data is None or self.planning is None:
            found.update(
                {k: {"skipped": "the planning models are not wired here"} for k in PLANNING}
            )
        else:
            found.update(evaluate_planning(data, self.planning, step))
        out: dict[str, dict[str, object]] = {}
        for kind in (DEMAND, NO_SHOW, CHURN, WAITLIST, SCHEDULE):  # the order
            figures = found[kind]
            assert isinstance(figures, dict)
            out[kind] = figures
        return out

    async def evaluate(self, step: Step = _quiet) -> dict[str, dict[str, object]]:
        return await self._read(lambda f, d: self._judge(f, d, step))

    def _fit(self, features: Features, data: PlanningData | None, step: Step) -> list[Fitted]:
        scores = self._judge(features, data, step)
        risks = {k: v for k, v in scores.items() if k in KINDS and "skipped" not in v}
        fitted = fit_lake(features, self.seed, step, dict(risks)) if len(risks) == 2 else []
        if data is not None and self.planning is not None:
            step("planning models for serving")
            fitted += fit_planning(data, self.planning, scores)
        if not fitted:
            why = {str(v.get("skipped")) for v in scores.values()}
            raise NotEnoughHistory("; ".join(sorted(why)))
        return fitted

    async def train(self, step: Step = _quiet) -> list[ModelEntry]:
        """Fit every model the lake can judge, keep each in the registry as its kind's next
        version, and cache their predictions."""
        fitted = await self._read(lambda f, d: self._fit(f, d, step))
        now = self.clock.now()
        entries = []
        async with self.uow() as uow:
            for f in fitted:
                artifact = dump(f.parts)
                entry = from_attributes(
                    ModelEntry,
                    f,
                    id=str(uuid.uuid4()),
                    version=await uow.registry.next_version(f.kind),
                    trained_at=now,
                    artifact_sha256=sha256(artifact),
                    artifact=artifact,
                )
                await uow.registry.add(entry)
                entries.append(entry)
            await uow.commit()
        step("predictions")
        await self.predict()
        return entries

    async def run(self, _now: datetime) -> int:
        """The nightly job: retrain on the lake as it is (a de-identified patient's rows have
        lost their key there, so they leave the training data now). A lake too short to
        hold a later period out trains nothing yet."""
        try:
            return len(await self.train())
        except NotEnoughHistory:
            return 0

    async def entries(self, model_id: str | None = None) -> list[ModelEntry]:
        """The latest entry of each kind, or the one named."""
        async with self.uow.reading() as uow:
            if model_id is not None:
                found = await uow.registry.get(model_id)
                if found is None:
                    raise NoModel(f"no model {model_id}")
                return [found]
            latest = [await uow.registry.latest(kind) for kind in ALL_KINDS]
        got = [e for e in latest if e is not None]
        if not got:
            raise NoModel("no model has been trained yet: clinicflow ml train")
        return got

    def _predict(
        self,
        features: Features,
        data: PlanningData | None,
        entries: Sequence[ModelEntry],
        now: datetime,
    ) -> dict[str, list[Prediction]]:
        out = predict_lake(features, [e for e in entries if e.kind in KINDS], now)
        for entry in (e for e in entries if e.kind in PLANNING):
            if data is None or self.planning is None:
                raise NoModel(f"the {entry.kind} model cannot predict here: not wired")
            rows = predict_planning(entry.kind, load(entry.artifact), data, self.planning)
            out[entry.kind] = [_prediction(entry.kind, r, entry.id, now) for r in rows]
        return out

    async def scores(self, model_id: str | None = None) -> dict[str, list[Prediction]]:
        """Predictions from registry entries, computed now (nothing cached)."""
        entries = await self.entries(model_id)
        now = self.clock.now()
        return await self._read(lambda f, d: self._predict(f, d, entries, now))

    async def predict(self, model_id: str | None = None) -> dict[str, int]:
        """Compute and cache each latest model's predictions; how many of each."""
        made = await self.scores(model_id)
        async with self.uow() as uow:
            for kind, rows in made.items():
                await uow.predictions.replace(kind, rows)
            await uow.commit()
        return {kind: len(rows) for kind, rows in made.items()}


@dataclass(kw_only=True, eq=False)
class RegistrySettings:
    """The planning routes' `ModelSettings`: what the latest registry entry of each planning
    kind holds, so the routes answer as `ml predict` does from that entry."""

    uow: UnitsOfWork[ForecastingUnitOfWork]

    async def _parts(self, kind: str) -> dict[str, object] | None:
        async with self.uow.reading() as uow:
            entry = await uow.registry.latest(kind)
        return None if entry is None else load(entry.artifact)

    async def engine(self) -> Engine | None:
        parts = await self._parts(DEMAND)
        found = None if parts is None else parts.get("engine")
        return Engine.of(found) if isinstance(found, dict) else None

    async def solver(self) -> Solver | None:
        parts = await self._parts(SCHEDULE)
        return None if parts is None else Solver.of(parts)

    async def waitlist(self) -> Model | None:
        parts = await self._parts(WAITLIST)
        return None if parts is None else Model.of(parts)


@dataclass(kw_only=True, eq=False)
class RiskReports:
    """The staff's lists (no-show risk of upcoming visits, patients worth a call) and the
    analysts' aggregates, all from the cached predictions."""

    uow: UnitsOfWork[ForecastingUnitOfWork]
    patients: PatientFinder
    guard: ForecastingGuard
    clock: Clock
    high_risk: float = 0.3

    async def no_show(self, actor: Actor, limit: int = 200) -> list[NoShowRisk]:
        await self.guard.require_staff(actor, "no_show")
        async with self.uow.reading() as uow:
            rows = await uow.predictions.of(NO_SHOW, since=self.clock.now(), limit=limit)
        return [NoShowRisk.of(r) for r in rows]

    async def churn(self, actor: Actor, limit: int = 100) -> list[ChurnRisk]:
        """The riskiest `limit` cached rows, their patients found all at once; each patient
        listed is audited as read."""
        await self.guard.require_staff(actor, CHURN)
        async with self.uow.reading() as uow:
            rows = await uow.predictions.of(CHURN, limit=limit)
        found = await self.patients.find([(r.subject, r.ref) for r in rows if r.ref])
        out = []
        for r in rows:
            who = found.get(r.subject)
            if who is None:
                continue  # de-identified since, or not found: not listed
            out.append(ChurnRisk(who[0], who[1], r.service, r.score, r.reasons))
        await self.guard.record_reads(actor, CHURN, [c.patient_id for c in out])
        return out

    async def summary(self, actor: Actor) -> list[RiskSummary]:
        await self.guard.require_aggregates(actor)
        async with self.uow.reading() as uow:
            return [
                cell
                for kind in KINDS
                for cell in await uow.predictions.summary(
                    kind,
                    self.high_risk,
                    since=self.clock.now() if kind == NO_SHOW else None,
                )
            ]
