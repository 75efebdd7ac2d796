"""How a model is scored on held-out rows."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]


def auc(y: Floats, p: Floats) -> float:
    """ROC AUC; 0.5 (chance) when the rows hold one class only."""
    if len(np.unique(y)) < 2:
        return 0.5
    from sklearn.metrics import roc_auc_score  # heavy: imported when first used

    return float(roc_auc_score(y, p))


def ece(y: Floats, p: Floats, bins: int = 10) -> float:
    """Expected calibration error: over equal-width bins of the predicted probability, the
    gap between the mean prediction and the observed rate, weighted by the bin's rows."""
    if len(y) == 0:
        return 0.0
    at = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = at == b
        if inside.any():
            total += inside.sum() * abs(float(y[inside].mean()) - float(p[inside].mean()))
    return total / len(y)
