"""The use cases: train the no-show and churn models on the lake, evaluate them on a later
period they never trained on, keep each in the registry, cache their predictions, and answer
the staff's risk lists and the analysts' aggregates from that cache (docs/ml.md).

Time splits (E: the lake's last event; HELD_OUT_DAYS before it, the cut-off C):
- no-show: trained on visits that started before C, scored on those from C on;
- churn: trained on snapshots every SNAPSHOT_EVERY days up to C − 60 days (their outcomes
  counted up to C), scored on the snapshot at C (outcomes counted up to E).
The models kept for serving are then fitted on everything up to E, the same way, and carry
the held-out scores.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np

from clinicflow.forecasting.domain import churn as churn_model
from clinicflow.forecasting.domain import no_show as no_show_model
from clinicflow.forecasting.domain.artifact import dump, load, sha256
from clinicflow.forecasting.domain.frame import Frame, concat
from clinicflow.forecasting.domain.tabular import Floats
from clinicflow.forecasting.errors import NoModel, NotEnoughHistory
from clinicflow.forecasting.guard import ForecastingGuard
from clinicflow.forecasting.ports import (
    Features,
    FeatureSource,
    ForecastingUnitOfWork,
    LakeFiles,
    PatientFinder,
)
from clinicflow.forecasting.views import (
    ChurnRisk,
    ModelEntry,
    NoShowRisk,
    Prediction,
    Reason,
    RiskSummary,
)
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock

NO_SHOW, CHURN = "no_show", "churn"
KINDS = (NO_SHOW, CHURN)
HELD_OUT_DAYS = 60
SNAPSHOT_EVERY = 14
MIN_HISTORY_DAYS = 2 * HELD_OUT_DAYS + churn_model.HORIZON_DAYS
Step = Callable[[str], None]
T = TypeVar("T")


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Fitted:
    """A model fitted for serving, with its held-out scores and what it learnt from."""

    kind: str
    parts: dict[str, object]
    features: tuple[str, ...]
    metrics: dict[str, object]
    window_start: datetime
    window_end: datetime
    data_hash: str


def _ts(at: datetime) -> float:
    return at.timestamp()


def _no_show_rows(frame: Frame) -> tuple[Frame, Floats]:
    known = ~np.isnan(frame.floats("no_show"))
    rows = frame.where(known)
    return rows, rows.floats("no_show")


def _snapshots(features: Features, first: datetime, last: datetime, seen: datetime) -> Frame:
    """Snapshots every SNAPSHOT_EVERY days from `last` back to 60 days after `first`."""
    frames = []
    at = last
    while at >= first + timedelta(days=churn_model.HORIZON_DAYS):
        frames.append(_with_seen(features.churn(at, seen), (seen - at).days))
        at -= timedelta(days=SNAPSHOT_EVERY)
    return concat(frames[::-1])


def _with_seen(frame: Frame, days: float) -> Frame:
    cols = dict(frame.columns)
    cols["seen_days"] = np.full(len(frame), float(days))
    return Frame(cols)


def _window(lo: datetime, hi: datetime) -> dict[str, object]:
    return {"start": lo.isoformat(), "end": hi.isoformat()}


def evaluate_lake(features: Features, seed: int = 0, step: Step = _quiet) -> dict[str, object]:
    """Held-out scores of both models (see the module's doc), as `ml evaluate --json` prints."""
    first, _ = features.span()
    end = features.last_event()
    if first is None or end is None or (end - first).days < MIN_HISTORY_DAYS:
        raise NotEnoughHistory(f"the lake needs at least {MIN_HISTORY_DAYS} days of history")
    cut = end - timedelta(days=HELD_OUT_DAYS)
    step("no-show features")
    rows, y = _no_show_rows(features.bookings())
    start = rows.floats("start_ts")
    train, test = start < _ts(cut), start >= _ts(cut)
    step("no-show model")
    _, ns = no_show_model.evaluate(rows.where(train), y[train], rows.where(test), y[test], seed)
    step("churn snapshots")
    history = _snapshots(features, first, cut - timedelta(days=churn_model.HORIZON_DAYS), cut)
    later = _with_seen(features.churn(cut, end), (end - cut).days)
    step("churn models")
    _, cs = churn_model.evaluate(
        history, history.floats("seen_days"), later, later.floats("seen_days"), seed
    )
    return {
        NO_SHOW: {
            "auc": ns.auc,
            "baseline_auc": ns.baseline_auc,
            "baseline": "logistic regression",
            "own_rate_auc": ns.own_rate_auc,
            "ece": ns.ece,
            "rows": ns.rows,
            "no_shows": ns.no_shows,
            "train_rows": ns.train_rows,
            "train_window": _window(first, cut),
            "window": _window(cut, end),
        },
        CHURN: {
            "c_index": cs.c_index,
            "auc_60d": cs.auc_60d,
            "baseline_auc": cs.baseline_auc,
            "baseline": "days since the last visit",
            "rows": cs.rows,
            "churned_60d": cs.churned_60d,
            "train_rows": cs.train_rows,
            "survival": cs.survival,
            "windows": dict(features.windows),
            "train_window": _window(first, cut),
            "window": _window(cut, end),
        },
    }


def fit_lake(features: Features, seed: int = 0, step: Step = _quiet) -> list[Fitted]:
    """Both models fitted on everything the lake holds, each with its held-out scores."""
    scores = evaluate_lake(features, seed, step)
    first, _ = features.span()
    end = features.last_event()
    assert first is not None
    assert end is not None
    digest = features.digest()
    step("no-show model for serving")
    rows, y = _no_show_rows(features.bookings())
    ns = no_show_model.fit(rows, y, seed)
    step("churn models for serving")
    history = _snapshots(features, first, end - timedelta(days=churn_model.HORIZON_DAYS), end)
    dur, event = churn_model.durations(history, history.floats("seen_days"))
    cm = churn_model.fit(history, churn_model.label(history), dur, event, seed)
    metrics_ns = scores[NO_SHOW]
    metrics_cm = scores[CHURN]
    assert isinstance(metrics_ns, dict)
    assert isinstance(metrics_cm, dict)
    return [
        Fitted(NO_SHOW, ns.parts(), ns.features, metrics_ns, first, end, digest),
        Fitted(CHURN, cm.parts(), cm.features, metrics_cm, first, end, digest),
    ]


def _reasons(found: list[tuple[str, str, float]]) -> tuple[Reason, ...]:
    return tuple(Reason(f, v, w) for f, v, w in found)


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
            upcoming = (frame["status"] == "confirmed") & (frame.floats("start_ts") > _ts(now))
            rows = frame.where(np.asarray(upcoming, dtype=bool))
            scores = model.predict(rows) if len(rows) else np.zeros(0)
            why = model.reasons(rows) if len(rows) else []
            out[NO_SHOW] = [
                Prediction(
                    kind=NO_SHOW,
                    subject=str(rows["booking_id"][i]),
                    service=str(rows["service"][i]),
                    at=datetime.fromtimestamp(float(rows["start_ts"][i]), UTC),
                    score=round(float(scores[i]), 4),
                    reasons=_reasons(why[i]),
                    model_id=entry.id,
                    made_at=now,
                    ref=str(rows["practitioner"][i]),
                )
                for i in range(len(rows))
            ]
        elif entry.kind == CHURN:
            cm = churn_model.ChurnModel.of(parts)
            rows = features.churn(now, now)
            scores = cm.predict(rows) if len(rows) else np.zeros(0)
            why = cm.reasons(rows) if len(rows) else []
            out[CHURN] = [
                Prediction(
                    kind=CHURN,
                    subject=str(rows["patient_key"][i]),
                    service=str(rows["service"][i]),
                    at=None,
                    score=round(float(scores[i]), 4),
                    reasons=_reasons(why[i]),
                    model_id=entry.id,
                    made_at=now,
                    ref=None
                    if rows["last_booking_id"][i] is None
                    else str(rows["last_booking_id"][i]),
                )
                for i in range(len(rows))
            ]
    return out


@dataclass(kw_only=True, eq=False)
class ModelTraining:
    """`clinicflow ml train|evaluate|predict` and the nightly job."""

    uow: UnitsOfWork[ForecastingUnitOfWork]
    lake: LakeFiles
    source: FeatureSource
    clock: Clock
    seed: int = 0

    async def _read(self, work: Callable[[Features], T]) -> T:
        files = await self.lake.files()

        def run() -> T:
            features = self.source(files)
            try:
                return work(features)
            finally:
                features.close()

        return await asyncio.to_thread(run)

    async def evaluate(self, step: Step = _quiet) -> dict[str, object]:
        return await self._read(lambda f: evaluate_lake(f, self.seed, step))

    async def train(self, step: Step = _quiet) -> list[ModelEntry]:
        """Fit both models, keep each in the registry as the kind's next version, and cache
        their predictions."""
        fitted = await self._read(lambda f: fit_lake(f, self.seed, step))
        now = self.clock.now()
        entries = []
        async with self.uow() as uow:
            for f in fitted:
                artifact = dump(f.parts)
                entry = ModelEntry(
                    id=str(uuid.uuid4()),
                    kind=f.kind,
                    version=await uow.registry.next_version(f.kind),
                    trained_at=now,
                    window_start=f.window_start,
                    window_end=f.window_end,
                    features=f.features,
                    metrics=f.metrics,
                    data_hash=f.data_hash,
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
            latest = [await uow.registry.latest(kind) for kind in KINDS]
        got = [e for e in latest if e is not None]
        if not got:
            raise NoModel("no model has been trained yet: clinicflow ml train")
        return got

    async def scores(self, model_id: str | None = None) -> dict[str, list[Prediction]]:
        """Predictions from registry entries, computed now (nothing cached)."""
        entries = await self.entries(model_id)
        now = self.clock.now()
        return await self._read(lambda f: predict_lake(f, entries, now))

    async def predict(self, model_id: str | None = None) -> dict[str, int]:
        """Compute and cache each latest model's predictions; how many of each."""
        made = await self.scores(model_id)
        async with self.uow() as uow:
            for kind, rows in made.items():
                await uow.predictions.replace(kind, rows)
            await uow.commit()
        return {kind: len(rows) for kind, rows in made.items()}


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
        return [
            NoShowRisk(
                booking_id=r.subject,
                service=r.service,
                practitioner=r.ref,
                start=r.at or r.made_at,
                risk=r.score,
                reasons=r.reasons,
            )
            for r in rows
        ]

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
