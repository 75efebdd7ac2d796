"""Shared by the classifiers: a frame's columns as a matrix (a service as its index in the
model's list of services, LightGBM's categorical), a LightGBM booster trained the same way
each time (one thread, fixed seeds: the same rows give the same model), isotonic calibration
kept as points, and each prediction's top reasons from the booster's SHAP values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

Floats = NDArray[np.float64]


class Columns(Protocol):
    """Rows as columns by name (domain/frame.py `Frame`)."""

    def __getitem__(self, name: str) -> NDArray[np.generic]: ...


CATEGORY = "service"


def matrix(columns: Columns, features: Sequence[str], services: Sequence[str]) -> Floats:
    index = {s: float(i) for i, s in enumerate(services)}
    out = np.empty((len(columns[features[0]]), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        col = columns[name]
        if name == CATEGORY:
            out[:, j] = [index.get(str(v), np.nan) for v in col]
        else:
            out[:, j] = np.asarray(col, dtype=np.float64)
    return out


def one_hot(x: Floats, features: Sequence[str], services: Sequence[str]) -> Floats:
    """For the linear baseline: the service column as one column per service."""
    if CATEGORY not in features:
        return np.asarray(np.nan_to_num(x, nan=0.0), dtype=np.float64)
    j = list(features).index(CATEGORY)
    rest = np.delete(x, j, axis=1)
    hot = np.stack([(x[:, j] == i).astype(np.float64) for i in range(len(services))], axis=1)
    return np.asarray(np.nan_to_num(np.hstack([rest, hot]), nan=0.0), dtype=np.float64)


PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}


def boost(x: Floats, y: Floats, features: Sequence[str], seed: int, rounds: int = 300) -> str:
    """A booster in LightGBM's text format."""
    import lightgbm as lgb  # heavy: imported when first used

    categorical = [features.index(CATEGORY)] if CATEGORY in features else []
    data = lgb.Dataset(
        x,
        label=y,
        feature_name=list(features),
        categorical_feature=categorical,
        free_raw_data=False,
    )
    params = {**PARAMS, "seed": seed, "bagging_seed": seed, "feature_fraction_seed": seed}
    booster = lgb.train(params, data, num_boost_round=rounds)
    text: str = booster.model_to_string()
    return text


def raw(booster: str, x: Floats) -> Floats:
    import lightgbm as lgb  # heavy: imported when first used

    return np.asarray(lgb.Booster(model_str=booster).predict(x), dtype=np.float64)


def contributions(booster: str, x: Floats) -> Floats:
    """SHAP values per row and feature (the last column, the expected value, dropped)."""
    import lightgbm as lgb  # heavy: imported when first used

    got = np.asarray(lgb.Booster(model_str=booster).predict(x, pred_contrib=True))
    return np.asarray(got[:, :-1], dtype=np.float64)


@dataclass(frozen=True)
class Calibration:
    """Isotonic regression as its points: a probability is interpolated between them."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def fit(cls, p: Floats, y: Floats) -> Calibration:
        from sklearn.isotonic import IsotonicRegression  # heavy: imported when first used

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(p, y)
        return cls(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))

    def __call__(self, p: Floats) -> Floats:
        if not self.x:
            return p
        return np.asarray(np.interp(p, self.x, self.y), dtype=np.float64)


def logistic(x: Floats, y: Floats) -> Pipeline:
    from sklearn.linear_model import LogisticRegression  # heavy: imported when first used
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(x, y)
    return model


Reasons = list[list[tuple[str, str, float]]]


class Scorer(Protocol):
    """A fitted classifier: each row's score, and the reasons behind it."""

    def predict(self, columns: Columns) -> Floats: ...

    def reasons(self, columns: Columns, k: int = 3) -> Reasons: ...


def booster_reasons(
    booster: str, columns: Columns, features: Sequence[str], services: Sequence[str], k: int = 3
) -> Reasons:
    """Each row's top `k` reasons (`top_reasons`) under a booster over `features`."""
    x = matrix(columns, features, services)
    return top_reasons(contributions(booster, x), x, features, services, k)


def booster_parts(
    booster: str, features: Sequence[str], services: Sequence[str]
) -> dict[str, object]:
    """The head of a boosted model's parts (its artifact): the booster and what it reads."""
    return {"booster": booster, "services": list(services), "features": list(features)}


def top_reasons(
    contrib: Floats, x: Floats, features: Sequence[str], services: Sequence[str], k: int = 3
) -> Reasons:
    """For each row, up to `k` features that raised the prediction most: (feature, its value
    as text, its SHAP contribution in log-odds)."""
    out: list[list[tuple[str, str, float]]] = []
    for row, values in zip(contrib, x, strict=True):
        order = np.argsort(-row)[:k]
        reasons = []
        for j in order:
            if row[j] <= 0:
                break
            name = features[j]
            value = values[j]
            if name == CATEGORY:
                text = services[int(value)] if not np.isnan(value) else "unknown"
            else:
                text = f"{value:g}"
            reasons.append((name, text, round(float(row[j]), 4)))
        out.append(reasons)
    return out
