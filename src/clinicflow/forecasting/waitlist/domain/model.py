"""The conversion classifier (scikit-learn's logistic regression on standardised features)
and its held-out evaluation: trained on the earlier invitations, judged on the later ones
against the priority score alone."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

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
    pipeline: Pipeline
    trained_on: int
    window: tuple[datetime, datetime]  # first and last invitation trained on

    def chances(self, rows: Sequence[Invitation]) -> list[float]:
        if not rows:
            return []
        return [float(p) for p in self.pipeline.predict_proba(features(rows))[:, 1]]

    def weights(self) -> dict[str, float]:
        """Each feature's coefficient (on the standardised scale): why the model says so."""
        coef = self.pipeline[-1].coef_[0]
        return {name: round(float(c), 4) for name, c in zip(FEATURES, coef, strict=True)}


def train(rows: Sequence[Invitation], y: NDArray[np.int64] | None = None) -> Model:
    ys = labels(rows) if y is None else y
    if len(rows) < MIN_EXAMPLES or len(set(ys.tolist())) < 2:
        raise NotEnough(f"{len(rows)} decided invitations, outcomes {sorted(set(ys.tolist()))}")
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    pipeline.fit(features(rows), ys)
    return Model(pipeline, len(rows), (rows[0].invited_at, rows[-1].invited_at))


@dataclass(frozen=True, slots=True)
class Evaluation:
    auc: float
    baseline_auc: float  # the priority score alone, on the same invitations
    trained: int
    tested: int
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
        test_from=later[0].invited_at,
        test_to=later[-1].invited_at,
        conversion_rate=float(y_test.mean()),
    )
