"""The no-show and churn models' held-out evaluation and their fit for serving, over the
lake's features (`Features`: forecasting/queries.py `LakeReader`). Pure but for reading
those rows.

Time splits (E: the lake's last event; HELD_OUT_DAYS before it, the cut-off C):
- no-show: trained on visits that started before C, scored on those from C on;
- churn: trained on snapshots every SNAPSHOT_EVERY days up to C − 60 days (their outcomes
  counted up to C), scored on the snapshot at C (outcomes counted up to E).
The models kept for serving are then fitted on everything up to E, the same way, and carry
the held-out scores.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from clinicflow.forecasting.domain import churn as churn_model
from clinicflow.forecasting.domain import no_show as no_show_model
from clinicflow.forecasting.domain.artifact import Fitted
from clinicflow.forecasting.domain.frame import Features, Frame, concat
from clinicflow.forecasting.domain.tabular import Floats
from clinicflow.forecasting.errors import NotEnoughHistory

NO_SHOW, CHURN = "no_show", "churn"
KINDS = (NO_SHOW, CHURN)  # the risks (staff lists, analysts' summary)
HELD_OUT_DAYS = 60
SNAPSHOT_EVERY = 14
MIN_HISTORY_DAYS = 2 * HELD_OUT_DAYS + churn_model.HORIZON_DAYS
Step = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


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


def fit_lake(
    features: Features,
    seed: int = 0,
    step: Step = _quiet,
    scores: dict[str, object] | None = None,
) -> list[Fitted]:
    """Both models fitted on everything the lake holds, each with its held-out scores
    (`scores`: `evaluate_lake`'s, when already computed)."""
    scores = evaluate_lake(features, seed, step) if scores is None else scores
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
