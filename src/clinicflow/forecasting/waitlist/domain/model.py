"""The conversion classifier (scikit-learn's logistic regression on standardised features)
and its held-out evaluation: trained on the earlier invitations, judged on the later ones
against the priority score alone."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from clinicflow.forecasting.waitlist.domain.conversion import (
    FEATURES,
    Invitation,
    auc,
    features,
    labels,
    priority_score,
)
from clinicflow.waitlist import WaitlistPolicy

TRAIN_SHARE = 0.6  # the earlier 60% of decided invitations train, the later 40% judge
MIN_EXAMPLES = 30


class NotEnough(ValueError):
    """Too few decided invitations (or only one outcome) to learn or judge."""


@dataclass(frozen=True, slots=True)
class Model:
    """The fitted regression as numbers (the scaler's means and scales, the coefficients on
    the standardised scale, the intercept): what the registry keeps, and all that predicts,
    so a model read back from its entry gives the same chances."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    trained_on: int
    window: tuple[datetime, datetime]  # first and last invitation trained on

    def _logits(self, rows: Sequence[Invitation]) -> NDArray[np.float64]:
        z = (features(rows) - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(z @ np.asarray(self.coef) + self.intercept, dtype=np.float64)

    def chances(self, rows: Sequence[Invitation]) -> list[float]:
        if not rows:
            return []
        return [float(p) for p in 1.0 / (1.0 + np.exp(-self._logits(rows)))]

    def weights(self) -> dict[str, float]:
        """Each feature's coefficient (on the standardised scale): why the model says so."""
        return {name: round(c, 4) for name, c in zip(FEATURES, self.coef, strict=True)}

    def reasons(self, rows: Sequence[Invitation], top: int = 3) -> list[list[tuple[str, float]]]:
        """Per row, the features that raise its chance most (coefficient × standardised
        value, log-odds), largest first."""
        if not rows:
            return []
        z = (features(rows) - np.asarray(self.mean)) / np.asarray(self.scale)
        parts = z * np.asarray(self.coef)
        out = []
        for row in parts:
            order = sorted(range(len(FEATURES)), key=lambda k: -row[k])
            out.append([(FEATURES[k], round(float(row[k]), 4)) for k in order[:top] if row[k] > 0])
        return out

    def parts(self) -> dict[str, object]:
        return {
            "features": list(FEATURES),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "trained_on": self.trained_on,
            "window": [self.window[0].isoformat(), self.window[1].isoformat()],
        }

    @classmethod
    def of(cls, parts: Mapping[str, object]) -> Model:
        if parts.get("features") != list(FEATURES):
            raise ValueError("a waitlist model of other features: train again")
        mean, scale, coef = parts["mean"], parts["scale"], parts["coef"]
        intercept, n, window = parts["intercept"], parts["trained_on"], parts["window"]
        if not (isinstance(mean, list) and isinstance(scale, list) and isinstance(coef, list)):
            raise ValueError("a waitlist model's mean, scale and coef are lists")
        if not isinstance(intercept, float) or not isinstance(n, int):
            raise ValueError("a waitlist model's intercept is a number, trained_on a count")
        if not isinstance(window, list) or len(window) != 2:
            raise ValueError("a waitlist model's window is [first, last]")
        return cls(
            tuple(float(x) for x in mean),
            tuple(float(x) for x in scale),
            tuple(float(x) for x in coef),
            intercept,
            n,
            (datetime.fromisoformat(str(window[0])), datetime.fromisoformat(str(window[1]))),
        )


def train(rows: Sequence[Invitation], y: NDArray[np.int64] | None = None) -> Model:
    ys = labels(rows) if y is None else y
    if len(rows) < MIN_EXAMPLES or len(set(ys.tolist())) < 2:
        raise NotEnough(f"{len(rows)} decided invitations, outcomes {sorted(set(ys.tolist()))}")
    from sklearn.linear_model import LogisticRegression  # heavy: imported when first used
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    fit = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.fit_transform(features(rows)), ys)
    return Model(
        tuple(float(x) for x in scaler.mean_),
        tuple(float(x) for x in scaler.scale_),
        tuple(float(x) for x in fit.coef_[0]),
        float(fit.intercept_[0]),
        len(rows),
        (rows[0].invited_at, rows[-1].invited_at),
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    auc: float
    baseline_auc: float  # the priority score alone, on the same invitations
    trained: int
    tested: int
    train_from: datetime  # the first and last invitation trained on
    train_to: datetime
    test_from: datetime
    test_to: datetime
    conversion_rate: float  # in the test invitations


def decided(rows: Sequence[Invitation], seen: datetime) -> list[Invitation]:
    return sorted((r for r in rows if r.decided(seen)), key=lambda r: r.invited_at)


def evaluate(
    rows: Sequence[Invitation],
    seen: datetime,
    policy: WaitlistPolicy,
    *,
    shuffled_seed: int | None = None,
) -> Evaluation:
    """Held out by time: the earlier `TRAIN_SHARE` of the decided invitations train, the rest
    judge. `shuffled_seed`: the training labels shuffled first (no signal left: the AUC
    must fall to chance)."""
    ordered = decided(rows, seen)
    cut = int(len(ordered) * TRAIN_SHARE)
    earlier, later = ordered[:cut], ordered[cut:]
    y_train = labels(earlier)
    if shuffled_seed is not None:
        shuffled = y_train.tolist()
        random.Random(shuffled_seed).shuffle(shuffled)  # noqa: S311 (a control, not a secret)
        y_train = np.asarray(shuffled, dtype=np.int64)
    model = train(earlier, y_train)
    y_test = labels(later)
    if len(later) < 10 or len(set(y_test.tolist())) < 2:
        raise NotEnough(f"{len(later)} later invitations to judge on")
    return Evaluation(
        auc=auc(y_test, np.asarray(model.chances(later))),
        baseline_auc=auc(y_test, np.asarray([priority_score(r, policy) for r in later])),
        trained=len(earlier),
        tested=len(later),
        train_from=model.window[0],
        train_to=model.window[1],
        test_from=later[0].invited_at,
        test_to=later[-1].invited_at,
        conversion_rate=float(y_test.mean()),
    )
