"""The scores and the calibration the ML models are judged and served by
(forecasting/domain/metrics.py, tabular.py), on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pytest

from clinicflow.forecasting.domain.artifact import dump, load
from clinicflow.forecasting.domain.metrics import auc, ece
from clinicflow.forecasting.domain.tabular import Calibration


def test_ece_is_the_weighted_gap_between_predicted_and_seen_rates() -> None:
    # 4 rows predicted 0.1 of which 1 happened (rate 0.25); 4 predicted 0.9, all happened
    y = np.array([1, 0, 0, 0, 1, 1, 1, 1], dtype=float)
    p = np.array([0.1] * 4 + [0.9] * 4)
    assert ece(y, p) == pytest.approx((4 * 0.15 + 4 * 0.1) / 8)
    assert ece(np.array([]), np.array([])) == 0.0


def test_auc_of_a_perfect_a_reversed_and_a_one_class_ranking() -> None:
    y = np.array([0, 0, 1, 1], dtype=float)
    assert auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert auc(np.zeros(4), np.array([0.1, 0.2, 0.3, 0.4])) == 0.5


def test_isotonic_calibration_kept_as_points_maps_scores_to_seen_rates() -> None:
    raw = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    y = np.array([0, 0, 0, 1, 1, 1], dtype=float)
    cal = Calibration.fit(raw, y)
    out = cal(np.array([0.05, 0.15, 0.45, 0.95]))
    assert list(out) == [0.0, 0.0, 1.0, 1.0]  # clipped outside, monotone inside
    kept = load(dump({"x": list(cal.x), "y": list(cal.y)}))
    again = Calibration(tuple(kept["x"]), tuple(kept["y"]))  # type: ignore[arg-type]
    assert np.array_equal(again(raw), cal(raw))
