"""What the registry keeps of the planning models reads back to the same model: the
waitlist regression's numbers give scikit-learn's own chances, a loaded entry the fitted
one's; the demand engine's and the solver's settings round-trip, and settings from another
objective or out of range are refused."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from clinicflow.forecasting.demand.domain.model import Engine
from clinicflow.forecasting.domain.artifact import dump, load
from clinicflow.forecasting.scheduling.domain.proposal import Solver
from clinicflow.forecasting.scheduling.domain.week import Rules
from clinicflow.forecasting.waitlist.domain.conversion import (
    Invitation,
    features,
    labels,
    ranked,
)
from clinicflow.forecasting.waitlist.domain.model import Model, train
from clinicflow.waitlist import WaitlistPolicy

AT = datetime(2026, 9, 1, 14, tzinfo=UTC)


def _invitations(n: int, seed: int) -> list[Invitation]:
    draw = random.Random(seed)
    rows = []
    for i in range(n):
        interest = draw.randint(1, 5)
        joined = AT - timedelta(days=draw.randint(0, 200))
        converted = AT + timedelta(days=3) if draw.random() < interest / 6 else None
        campaign = draw.choice(("clinic-site", "health-fair", "newsletter", "flyer"))
        rows.append(Invitation("counseling", AT + timedelta(minutes=i), interest, campaign,
                               joined, 1, converted))  # fmt: skip
    return rows


def test_the_waitlist_regression_kept_as_numbers_predicts_as_fitted() -> None:
    rows = _invitations(200, 1)
    model = train(rows)
    # Imported here: scikit-learn takes ~0.8 s to import, and every xdist worker collects
    # this module while one runs the test.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    reference = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    reference.fit(features(rows), labels(rows))
    expected = reference.predict_proba(features(rows))[:, 1]
    assert np.allclose(model.chances(rows), expected, atol=1e-12)
    again = Model.of(load(dump(model.parts())))
    assert again == model
    assert again.chances(rows) == model.chances(rows)
    with pytest.raises(ValueError, match="other features"):
        Model.of({**model.parts(), "features": ["interest_level"]})


def test_the_published_order_does_not_depend_on_the_rows_order() -> None:
    rows = _invitations(60, 2)
    policy = WaitlistPolicy()
    assert ranked(rows, policy) == ranked(rows[::-1], policy)


def test_the_engine_and_solver_settings_round_trip_and_are_checked() -> None:
    engine = Engine(pickup_weeks=4, level=90)
    assert Engine.of(load(dump(engine.parts()))) == engine
    assert engine.z == pytest.approx(1.6449, abs=1e-4)
    with pytest.raises(ValueError, match="pickup_weeks"):
        Engine(pickup_weeks=9)
    solver = Solver(Rules(max_week_hours=12), seconds=5.0, workers=1, seed=3, engine=engine)
    assert Solver.of(load(dump(solver.parts()))) == solver
    with pytest.raises(ValueError, match="another objective"):
        Solver.of({**solver.parts(), "visit_weight": 1})
