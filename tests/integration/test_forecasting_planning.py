"""The planning models on a simulated clinic's lake (the ML tests' one history,
tests/support/ml_history.py: 3 practitioners × 240 days, seeded), each judged on a later
period it never trained on:

- demand: 8 rolling weekly origins, MASE < 0.8 and below seasonal-naive's on the same
  windows; the forecast's 8 weeks with intervals beside capacity;
- waitlist conversion: AUC ≥ 0.75 on the later 30% of invitations, above the priority
  score's; with the training labels shuffled, chance (0.5);
- schedule proposal: CP-SAT ≥ 5% more expected visits than the greedy rule on the same busy
  week, within 10 s on 2 workers; with demand far under capacity, nothing to gain.
Then `clinicflow ml`'s side of them (`ModelTraining`, evaluated and trained once a run with
test_ml_risk.py's: support/ml_models.py): `evaluate` gives the same figures as the planning
services under the issue's keys, `train` keeps each in the registry, and an entry predicts
the same again from its artifact (a changed entry, differently); a lake with nothing to judge
skips them. Then the routes: who may ask, and what an empty lake answers.
"""

from __future__ import annotations

import json
import statistics
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.forecasting.demand.domain.forecast import DemandForecast
from clinicflow.forecasting.demand.domain.model import Engine
from clinicflow.forecasting.demand.guard import PlanningGuard
from clinicflow.forecasting.demand.queries import LakeHistory
from clinicflow.forecasting.demand.service import DemandForecasts
from clinicflow.forecasting.domain import artifact
from clinicflow.forecasting.domain.planning import (
    PLANNING,
    PlanningData,
    PlanningSetup,
    Scored,
    evaluate_planning,
    predict_planning,
)
from clinicflow.forecasting.queries import LakeReader
from clinicflow.forecasting.repository import SqlForecastingUnitOfWork
from clinicflow.forecasting.scheduling.domain.proposal import Solver
from clinicflow.forecasting.scheduling.domain.week import Rules
from clinicflow.forecasting.scheduling.service import ScheduleProposals
from clinicflow.forecasting.service import ModelTraining, RegistrySettings
from clinicflow.forecasting.waitlist.domain.model import Model, evaluate
from clinicflow.forecasting.waitlist.service import WaitlistConversion, read_invitations
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import Factory
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist import WaitlistPolicy
from support.app import admin_session, staff_session
from support.ml_history import MlHistory
from support.ml_models import Trained, trained_models
from support.planning import PlanningLake, sharing_clinic
from support.simulation import ENDS_AT

SYSTEM = Actor(kind="system", id="tests", role=Role.SYSTEM, tier="staff")


def _guard(container: Container) -> PlanningGuard:
    return PlanningGuard(container.trail)


@pytest.fixture
def demand(planning_lake: PlanningLake, container: Container) -> DemandForecasts:
    return DemandForecasts(
        lake=planning_lake,
        catalog=planning_lake.catalog,
        clock=FixedClock(ENDS_AT),
        guard=_guard(container),
    )


async def test_demand_beats_seasonal_naive_on_eight_later_weeks(demand: DemandForecasts) -> None:
    result = await demand.backtest(SYSTEM)
    assert result.windows == 8
    assert result.series == 3
    assert result.last_cutoff <= ENDS_AT.date() - timedelta(days=7)
    assert result.mase < 0.8, result
    assert result.mase < result.naive_mase, result
    assert result.mase < result.ets_mase, result  # the bookings carry what counts alone lack


async def test_the_forecast_covers_eight_weeks_with_intervals_beside_capacity(
    demand: DemandForecasts,
) -> None:
    forecast = await demand.forecast(SYSTEM)
    assert forecast.as_of == ENDS_AT.date() - timedelta(days=1)
    services = {w.key for w in forecast.weeks}
    assert services == {"alternative_medicine", "gaps_coaching", "counseling"}
    assert len(forecast.weeks) == 8 * 3
    assert len(forecast.days) == 7 * 8 * 3
    for day in forecast.days:
        assert 0 <= day.visits_lo <= day.visits <= day.visits_hi
    first = min(w.week for w in forecast.weeks)
    assert first.weekday() == 0
    for week in forecast.weeks:
        assert week.capacity_min is not None
        assert week.capacity_min > 0
        assert week.visits_lo <= week.visits <= week.visits_hi
        # a clinic about 60% booked at a quarter of the demand: no week over capacity
        assert week.over_capacity is False
    by_practitioner = await demand.forecast(SYSTEM, "practitioner")
    assert {w.key.split("/")[0] for w in by_practitioner.weeks} == services
    assert all(w.capacity_min is None for w in by_practitioner.weeks)
    assert await demand.forecast(SYSTEM) is forecast  # the same snapshot and day: cached


async def test_waitlist_conversion_beats_the_priority_score_on_later_invitations(
    planning_lake: PlanningLake, container: Container
) -> None:
    conversion = WaitlistConversion(
        lake=planning_lake,
        clock=FixedClock(ENDS_AT),
        policy=WaitlistPolicy(),
        guard=_guard(container),
    )
    result = await conversion.evaluation(SYSTEM)
    assert result.tested >= 40
    assert result.test_from > ENDS_AT - timedelta(days=120)
    # Issue 19's target: AUC >= 0.75 and better than the priority score alone.
    assert result.auc >= 0.75, result
    assert result.auc > result.baseline_auc + 0.1, result
    # No signal left (the training labels shuffled): chance, on average over shuffles. The
    # service answers the first; the others are its model judged on the invitations it read,
    # read once (each read of the lake is a tenth of a second of CPU).
    shuffled = [(await conversion.evaluation(SYSTEM, shuffled_seed=0)).auc]
    invited, _ = read_invitations(planning_lake)
    policy = WaitlistPolicy()
    shuffled += [evaluate(invited, ENDS_AT, policy, shuffled_seed=s).auc for s in range(1, 15)]
    assert abs(statistics.mean(shuffled) - 0.5) < 0.1, shuffled
    wave = await conversion.wave(SYSTEM, "counseling", places=10)
    assert wave.waiting > wave.invite >= 10  # each converts with a chance below 1
    assert wave.expected >= 10


async def test_cp_sat_serves_more_of_a_busy_week_than_the_greedy_rule(
    demand: DemandForecasts, container: Container
) -> None:
    # Part-timers (12 contracted hours a week) in a clinic where three people share GAPS
    # and counseling; the simulated forecast scaled so those services ask for 70%, 90% and
    # 110% of the three's contracted hours.
    proposals = ScheduleProposals(
        demand=demand,
        catalog=sharing_clinic(),
        guard=_guard(container),
        rules=Rules(max_week_hours=12),
    )
    visits = await demand.visits()
    week = proposals.week_of_demand(visits)
    shared = sum(m for (s, _), m in week.demand.items() if s != "alternative_medicine")
    uplifts = []
    for load in (0.7, 0.9, 1.1):
        busy = proposals.proposal(visits, scale=load * 3 * 12 * 60 / shared)
        assert busy.status == "OPTIMAL"
        assert busy.seconds < 10
        assert busy.served_visits >= busy.greedy_served_visits
        assert busy.served_visits <= busy.demand_visits + 1e-6
        hours: dict[str, int] = {}
        for shift in busy.shifts:
            hours[shift.practitioner] = hours.get(shift.practitioner, 0) + 1
        assert max(hours.values()) <= 12
        # Issue 19's target: expected served demand >= 5% above greedy. No plan serves more
        # than the demand, so where greedy already leaves less than 5% of it unserved (a week
        # under capacity: one making of the history gave greedy 96.3% at 70% load) the
        # proposal must serve all of it instead.
        wanted = min(1.05 * busy.greedy_served_visits, busy.demand_visits)
        assert busy.served_visits >= wanted - 1e-6, (load, busy)
        uplifts.append(busy.uplift)
    # ...and past capacity, where greedy's choice of hours costs visits, the gain is the
    # target's whole 5%.
    assert uplifts[-1] >= 0.05, uplifts
    # Demand far under capacity: both serve all of it, nothing to gain.
    quiet = proposals.proposal(visits, scale=0.2)
    assert quiet.uplift == 0.0
    assert quiet.served_visits == pytest.approx(quiet.demand_visits, abs=0.05)


async def test_who_may_ask_and_what_an_empty_lake_answers(
    container: Container, client: httpx.AsyncClient
) -> None:
    analyst = await staff_session(container, "analyst1", "analyst")
    desk = await staff_session(container, "desk1", "front_desk")
    admin = await admin_session(container)
    assert (await client.get("/v1/forecasts/demand")).status_code == 401
    assert (await client.get("/v1/forecasts/demand", headers=desk)).status_code == 403
    empty = await client.get("/v1/forecasts/demand", headers=analyst)
    assert empty.status_code == 409, empty.text
    assert empty.json()["code"] == "not_enough_history"
    assert (await client.get("/v1/forecasts/demand?weeks=14", headers=analyst)).status_code == 422
    proposal = "/v1/forecasts/schedule-proposal"
    assert (await client.get(proposal, headers=analyst)).status_code == 403
    assert (await client.get(proposal, headers=admin)).status_code == 409


class _Files:
    """forecasting's `LakeFiles` over the planning lake's files."""

    def __init__(self, lake: PlanningLake) -> None:
        self._lake = lake

    async def files(self) -> list[str]:
        return list(self._lake.files)


def _training(lake: PlanningLake, db: Database) -> ModelTraining:
    catalog = lake.catalog
    late = catalog.payments.cancellation.full_refund_hours
    return ModelTraining(
        uow=Factory(db, SqlForecastingUnitOfWork),
        lake=_Files(lake),
        source=lambda files: LakeReader(files, catalog.clinic.timezone, {}, 90, late),
        clock=FixedClock(ENDS_AT),
        history=LakeHistory,
        planning=PlanningSetup(tuple(catalog.practitioners.values()), catalog.clinic.tz),
    )


@pytest.fixture(scope="module")
def trained(simulated_lake: MlHistory, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """`clinicflow ml`'s wiring evaluated, then trained, all five models on the history
    `planning_lake` reads: once a run, with test_ml_risk.py (support/ml_models.py)."""
    return trained_models(simulated_lake, tmp_path_factory)


@pytest.fixture
async def kept_in(trained: Trained) -> AsyncIterator[Database]:
    """The database `train` kept the models in (this module's copy)."""
    db = Database(trained.settings.database_url)
    yield db
    await db.dispose()


async def test_ml_evaluates_keeps_and_reproduces_the_planning_models(
    planning_lake: PlanningLake, container: Container, trained: Trained, kept_in: Database
) -> None:
    training = _training(planning_lake, kept_in)
    figures = trained.evaluation
    assert list(figures) == ["demand", "no_show", "churn", "waitlist", "schedule"]
    demand, waitlist, schedule = figures["demand"], figures["waitlist"], figures["schedule"]
    # the services' own evaluations, with the lake's last day as theirs: the same figures
    history = LakeHistory(planning_lake.files)
    try:
        last = history.last_event()
    finally:
        history.close()
    assert last is not None
    same_day = DemandForecasts(
        lake=planning_lake,
        catalog=planning_lake.catalog,
        clock=FixedClock(last),
        guard=_guard(container),
    )
    backtest = await same_day.backtest(SYSTEM)
    assert demand["mase"] == backtest.mase
    assert demand["baseline_mase"] == backtest.naive_mase
    assert demand["window"] == {
        "start": (backtest.first_cutoff + timedelta(days=1)).isoformat(),
        "end": (backtest.last_cutoff + timedelta(days=7)).isoformat(),
    }
    conversion = WaitlistConversion(
        lake=planning_lake, clock=FixedClock(last), policy=WaitlistPolicy(), guard=_guard(container)
    )
    judged = await conversion.evaluation(SYSTEM)
    assert waitlist["auc"] == round(judged.auc, 4)
    assert waitlist["baseline_auc"] == round(judged.baseline_auc, 4)
    assert waitlist["window"] == {
        "start": judged.test_from.isoformat(),
        "end": judged.test_to.isoformat(),
    }
    assert str(waitlist["train_window"]["end"]) <= str(waitlist["window"]["start"])  # type: ignore[index]
    # one practitioner per service here: greedy is already optimal (docs/ml-planning.md)
    assert schedule["uplift"] == 0.0
    assert schedule["status"] == "OPTIMAL"
    assert 0 <= schedule["seconds"] < 10  # type: ignore[operator]
    assert schedule["window"]["start"] > demand["window"]["end"]  # type: ignore[index]

    entries = {e.kind: e for e in trained.entries}
    assert set(PLANNING) <= set(entries)
    for kind in PLANNING:
        entry = entries[kind]
        assert entry.version >= 1
        assert entry.window_start <= entry.window_end
        assert entry.features
        assert len(entry.data_hash) == 64
        assert entry.artifact_sha256 == artifact.sha256(entry.artifact)
        kept = {k: v for k, v in entry.metrics.items() if k != "seconds"}  # timed anew
        assert kept == json.loads(json.dumps({k: v for k, v in figures[kind].items() if k in kept}))
        assert set(entry.metrics) == set(figures[kind])
    assert Model.of(artifact.load(entries["waitlist"].artifact)).weights()  # the fitted regression
    assert artifact.load(entries["schedule"].artifact)["rules"] == {
        "max_week_hours": 24,
        "max_day_hours": 6,
        "continuity_weight": 10,
    }

    # same entry + same lake -> the same predictions, from the entry and from the cache
    async with training.uow.reading() as uow:
        cached = {kind: await uow.predictions.of(kind) for kind in PLANNING}
    again = _training(planning_lake, kept_in)  # another instance, nothing shared
    for kind in PLANNING:
        made = (await again.scores(entries[kind].id))[kind]
        assert made, kind
        key = {(p.subject, p.service): (p.score, p.reasons) for p in made}
        assert key == {(p.subject, p.service): (p.score, p.reasons) for p in cached[kind]}
        assert {p.model_id for p in made} == {entries[kind].id}

    # another entry's settings: other predictions (the entry is what predicts)
    data = training._planning_data(list(planning_lake.files))
    assert data is not None
    setup = training.planning
    assert setup is not None
    parts = artifact.load(entries["demand"].artifact)
    four = {**parts, "engine": Engine(pickup_weeks=4).parts()}
    eight = predict_planning("demand", parts, data, setup)
    assert predict_planning("demand", artifact.load(artifact.dump(parts)), data, setup) == eight
    assert predict_planning("demand", four, data, setup) != eight
    # the route answers from the latest entry: a newer entry with other settings moves it
    route = DemandForecasts(
        lake=planning_lake,
        catalog=planning_lake.catalog,
        clock=FixedClock(last),
        guard=_guard(container),
        settings=RegistrySettings(uow=training.uow),
    )

    def days(rows: list[Scored]) -> dict[tuple[str, str], float]:
        return {(r.subject, r.service): r.score for r in rows}

    def answered(found: DemandForecast) -> dict[tuple[str, str], float]:
        return {(d.day.isoformat(), d.key): round(d.visits, 4) for d in found.days}

    assert answered(await route.forecast(SYSTEM)) == days(eight)
    newer = replace(
        entries["demand"],
        id=str(uuid.uuid4()),
        version=entries["demand"].version + 1,
        artifact=artifact.dump(four),
        artifact_sha256=artifact.sha256(artifact.dump(four)),
    )
    async with training.uow() as uow:
        await uow.registry.add(newer)
        await uow.commit()
    assert answered(await route.forecast(SYSTEM)) == days(
        predict_planning("demand", four, data, setup)
    )
    tight = Solver(replace(setup.solver.rules, max_day_hours=2)).parts()
    hours = predict_planning("schedule", artifact.load(entries["schedule"].artifact), data, setup)
    assert len(predict_planning("schedule", tight, data, setup)) < len(hours)


def test_a_lake_with_nothing_to_judge_skips_the_planning_models() -> None:
    setup = PlanningSetup((), ENDS_AT.tzinfo)  # type: ignore[arg-type]
    empty = evaluate_planning(PlanningData((), (), (), None), setup)
    assert set(empty) == set(PLANNING)
    assert all(set(figures) == {"skipped"} for figures in empty.values()), empty
    assert "no waitlist invitations" in str(empty["waitlist"]["skipped"])
