"""The churn models, per patient and service still in care on a day: a LightGBM classifier
for "no visit of the service within the next 60 days", Kaplan–Meier curves of time to
churn per service, and a Cox model of it (lifelines) scored by its concordance index.

A patient has churned from a service when a visit is followed by no other for the
service's churn window (`CLINICFLOW_ANALYTICS_CHURN_DAYS`, default 90): the churn is at
that last visit. Rows are snapshots: where each patient stood on a day, their outcome
counted from what happened after it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clinicflow.forecasting.domain import tabular
from clinicflow.forecasting.domain.metrics import auc
from clinicflow.forecasting.domain.tabular import (
    Columns,
    Floats,
    boost,
    matrix,
    raw,
)

if TYPE_CHECKING:
    import pandas as pd

HORIZON_DAYS = 60
FEATURES = (
    "visits",
    "tenure_days",
    "days_since_visit",
    "no_shows",
    "cancels",
    "upcoming",
    "recent_bookings",
    "visits_per_week",
    "window_days",
    "service",
)
COX_FEATURES = (
    "visits",
    "tenure_days",
    "days_since_visit",
    "no_shows",
    "cancels",
    "upcoming",
    "visits_per_week",
)


def label(columns: Columns, horizon: int = HORIZON_DAYS) -> Floats:
    """1 when no visit of the service follows within `horizon` days."""
    nxt = np.asarray(columns["next_visit_days"], dtype=np.float64)
    return np.asarray(np.isnan(nxt) | (nxt > horizon), dtype=np.float64)


def durations(columns: Columns, seen_days: Floats) -> tuple[Floats, Floats]:
    """(days to churn or to the end of what is seen, 1 when the churn was seen)."""
    churn = np.asarray(columns["churn_days"], dtype=np.float64)
    seen = ~np.isnan(churn)
    return np.where(seen, churn, seen_days).astype(np.float64), seen.astype(np.float64)


@dataclass(frozen=True)
class ChurnModel:
    booster: str
    services: tuple[str, ...]
    cox: dict[str, float]  # coefficients on standardized COX_FEATURES
    cox_scale: dict[str, tuple[float, float]]  # each feature's mean and spread
    features: tuple[str, ...] = FEATURES

    def predict(self, columns: Columns) -> Floats:
        return raw(self.booster, matrix(columns, self.features, self.services))

    def hazard(self, columns: Columns) -> Floats:
        """The Cox model's log partial hazard: higher churns sooner."""
        total = np.zeros(len(columns[COX_FEATURES[0]]), dtype=np.float64)
        for name, beta in self.cox.items():
            mean, sd = self.cox_scale[name]
            total += beta * (np.asarray(columns[name], dtype=np.float64) - mean) / sd
        return total

    def reasons(self, columns: Columns, k: int = 3) -> tabular.Reasons:
        return tabular.booster_reasons(self.booster, columns, self.features, self.services, k)

    def parts(self) -> dict[str, object]:
        return {
            **tabular.booster_parts(self.booster, self.features, self.services),
            "cox": self.cox,
            "cox_scale": {k: list(v) for k, v in self.cox_scale.items()},
        }

    @classmethod
    def of(cls, parts: Mapping[str, object]) -> ChurnModel:
        cox = parts["cox"]
        scale = parts["cox_scale"]
        services = parts["services"]
        features = parts["features"]
        assert isinstance(cox, dict)
        assert isinstance(scale, dict)
        assert isinstance(services, list)
        assert isinstance(features, list)
        return cls(
            booster=str(parts["booster"]),
            services=tuple(str(s) for s in services),
            cox={str(k): float(v) for k, v in cox.items()},
            cox_scale={str(k): (float(v[0]), float(v[1])) for k, v in scale.items()},
            features=tuple(str(s) for s in features),
        )


def _standardized(columns: Columns) -> tuple[pd.DataFrame, dict[str, tuple[float, float]]]:
    import pandas as pd  # heavy: imported when first used

    frame: dict[str, Floats] = {}
    scale: dict[str, tuple[float, float]] = {}
    for name in COX_FEATURES:
        v = np.asarray(columns[name], dtype=np.float64)
        mean, sd = float(v.mean()), float(v.std()) or 1.0
        scale[name] = (mean, sd)
        frame[name] = (v - mean) / sd
    return pd.DataFrame(frame), scale


def fit(columns: Columns, y: Floats, dur: Floats, event: Floats, seed: int = 0) -> ChurnModel:
    from lifelines import CoxPHFitter  # heavy: imported when first used

    services = tuple(sorted({str(s) for s in columns["service"] if s is not None}))
    booster = boost(matrix(columns, FEATURES, services), y, FEATURES, seed, rounds=200)
    frame, scale = _standardized(columns)
    frame["duration"] = np.maximum(dur, 0.01)
    frame["event"] = event
    cox = CoxPHFitter(penalizer=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cox.fit(frame, duration_col="duration", event_col="event")
    coefs = {str(k): float(v) for k, v in cox.params_.items()}
    return ChurnModel(booster, services, coefs, scale)


@dataclass(frozen=True)
class ChurnScores:
    c_index: float
    auc_60d: float
    baseline_auc: float  # days since the last visit alone
    rows: int
    churned_60d: int
    train_rows: int
    survival: dict[str, dict[str, float]]  # per service: Kaplan–Meier S(t) at 30/60/90 days


def kaplan_meier(
    services: Sequence[object], dur: Floats, event: Floats
) -> dict[str, dict[str, float]]:
    from lifelines import KaplanMeierFitter  # heavy: imported when first used

    out: dict[str, dict[str, float]] = {}
    names = np.asarray([str(s) for s in services], dtype=object)
    for service in sorted(set(names)):
        inside = names == service
        km = KaplanMeierFitter()
        km.fit(dur[inside], event[inside])
        at = km.survival_function_at_times([30, 60, 90])
        out[service] = {f"s{int(t)}": round(float(v), 4) for t, v in at.items()}
    return out


def evaluate(
    train: Columns,
    train_seen: Floats,
    test: Columns,
    test_seen: Floats,
    seed: int = 0,
    y_train: Floats | None = None,
) -> tuple[ChurnModel, ChurnScores]:
    """Fit on earlier snapshots (`train`, outcomes counted up to the training period's end),
    score on a later one (`test`)."""
    from lifelines.utils import concordance_index  # heavy: imported when first used

    y = label(train) if y_train is None else y_train
    dur, event = durations(train, train_seen)
    model = fit(train, y, dur, event, seed)
    y_test = label(test)
    t_dur, t_event = durations(test, test_seen)
    c = concordance_index(t_dur, -model.hazard(test), t_event)
    return model, ChurnScores(
        c_index=round(float(c), 4),
        auc_60d=round(auc(y_test, model.predict(test)), 4),
        baseline_auc=round(auc(y_test, np.asarray(test["days_since_visit"], dtype=np.float64)), 4),
        rows=len(y_test),
        churned_60d=int(y_test.sum()),
        train_rows=len(y),
        survival=kaplan_meier(list(test["service"]), t_dur, t_event),
    )
