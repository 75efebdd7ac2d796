"""The no-show model: a LightGBM classifier over what was known when the booking was made
(lead time, the patient's earlier no-shows, visits and late cancellations, new or returning,
service, weekday and hour), calibrated by isotonic regression on a later slice of the
training period, and scored against logistic regression and the patient's own past rate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from clinicflow.forecasting.domain import tabular
from clinicflow.forecasting.domain.metrics import auc, ece
from clinicflow.forecasting.domain.tabular import (
    Calibration,
    Columns,
    Floats,
    boost,
    logistic,
    matrix,
    one_hot,
    raw,
)

FEATURES = (
    "lead_days",
    "prior_no_shows",
    "prior_visits",
    "prior_late_cancels",
    "prior_cancels",
    "new_patient",
    "first_visit",
    "days_since_visit",
    "weekday",
    "hour",
    "service",
)
CALIBRATION_SHARE = 0.25  # the training period's latest quarter calibrates


@dataclass(frozen=True)
class NoShowModel:
    booster: str
    services: tuple[str, ...]
    calibration: Calibration
    features: tuple[str, ...] = FEATURES

    def predict(self, columns: Columns) -> Floats:
        x = matrix(columns, self.features, self.services)
        return self.calibration(raw(self.booster, x))

    def reasons(self, columns: Columns, k: int = 3) -> tabular.Reasons:
        return tabular.booster_reasons(self.booster, columns, self.features, self.services, k)

    def parts(self) -> dict[str, object]:
        return {
            **tabular.booster_parts(self.booster, self.features, self.services),
            "calibration": {"x": list(self.calibration.x), "y": list(self.calibration.y)},
        }

    @classmethod
    def of(cls, parts: Mapping[str, object]) -> NoShowModel:
        cal = parts["calibration"]
        assert isinstance(cal, dict)
        return cls(
            booster=str(parts["booster"]),
            services=tuple(str(s) for s in _seq(parts["services"])),
            calibration=Calibration(
                tuple(float(v) for v in cal["x"]), tuple(float(v) for v in cal["y"])
            ),
            features=tuple(str(s) for s in _seq(parts["features"])),
        )


def _seq(value: object) -> Sequence[object]:
    assert isinstance(value, list)
    return value


def services_in(columns: Columns) -> tuple[str, ...]:
    return tuple(sorted({str(s) for s in columns["service"] if s is not None}))


def fit(columns: Columns, y: Floats, seed: int = 0) -> NoShowModel:
    """Rows in time order: the earlier part trains the booster, the latest quarter fits its
    calibration (probabilities the booster never trained on)."""
    services = services_in(columns)
    x = matrix(columns, FEATURES, services)
    cut = int(len(y) * (1 - CALIBRATION_SHARE))
    booster = boost(x[:cut], y[:cut], FEATURES, seed)
    calibration = Calibration.fit(raw(booster, x[cut:]), y[cut:])
    return NoShowModel(booster, services, calibration)


@dataclass(frozen=True)
class NoShowScores:
    auc: float
    baseline_auc: float  # logistic regression on the same features and rows
    own_rate_auc: float  # the patient's own past no-show rate
    ece: float
    rows: int
    no_shows: int
    train_rows: int
    extra: dict[str, float] = field(default_factory=dict)


def own_rate(columns: Columns, prior: float) -> Floats:
    """The patient's past no-show rate, shrunk to the clinic's rate with one pseudo-visit."""
    ns = np.asarray(columns["prior_no_shows"], dtype=np.float64)
    seen = ns + np.asarray(columns["prior_visits"], dtype=np.float64)
    return np.asarray((ns + prior) / (seen + 1.0), dtype=np.float64)


def evaluate(
    train: Columns, y_train: Floats, test: Columns, y_test: Floats, seed: int = 0
) -> tuple[NoShowModel, NoShowScores]:
    """Fit on `train` (earlier), score on `test` (later, never trained on)."""
    model = fit(train, y_train, seed)
    p = model.predict(test)
    x_train = one_hot(matrix(train, FEATURES, model.services), FEATURES, model.services)
    x_test = one_hot(matrix(test, FEATURES, model.services), FEATURES, model.services)
    lr = logistic(x_train, y_train)
    p_lr = np.asarray(lr.predict_proba(x_test)[:, 1], dtype=np.float64)
    base = float(y_train.mean()) if len(y_train) else 0.0
    return model, NoShowScores(
        auc=round(auc(y_test, p), 4),
        baseline_auc=round(auc(y_test, p_lr), 4),
        own_rate_auc=round(auc(y_test, own_rate(test, base)), 4),
        ece=round(ece(y_test, p), 4),
        rows=len(y_test),
        no_shows=int(y_test.sum()),
        train_rows=len(y_train),
    )
