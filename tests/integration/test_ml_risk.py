"""The no-show and churn models (docs/ml.md) on a simulated clinic's lake (240 days, 3
practitioners, planted no-show effects: tests/support/ml_history.py), each scored on a later
period it never trained on; with shuffled labels they score chance; a registry entry predicts
the same again; risks are for staff, aggregates for analysts; nothing a model keeps or says
holds a name, contact or patient id.

Measured figures are the issue's targets; docs/ml.md records what this history gives."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from clinicflow.analytics.domain.lake import Kind, Pseudonyms
from clinicflow.bootstrap import build
from clinicflow.bootstrap.analytics import iceberg_lake, lake_key
from clinicflow.bootstrap.forecasting import model_training
from clinicflow.catalog.service import load_catalog
from clinicflow.forecasting.domain import churn, no_show
from clinicflow.forecasting.domain.artifact import load, sha256
from clinicflow.forecasting.domain.frame import Frame
from clinicflow.forecasting.queries import LakeReader
from clinicflow.forecasting.service import HELD_OUT_DAYS
from clinicflow.forecasting.tables import models, predictions
from clinicflow.infra.audit_tables import audit_log
from clinicflow.infra.db import Database
from clinicflow.patients.tables import patients
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from clinicflow.simulation.people import FIRST, LAST
from support.api import app_over, refused
from support.app import admin_session, staff_session
from support.ml_history import MlHistory
from support.ml_models import Trained, trained_models

pytestmark = pytest.mark.slow
SHUFFLES = 6


@pytest.fixture(scope="module")
def trained(simulated_lake: MlHistory, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Both models evaluated, then trained, kept and their predictions cached, once a run
    (support/ml_models.py), over this module's copy of their database."""
    return trained_models(simulated_lake, tmp_path_factory)


def _reader(settings: Settings) -> LakeReader:
    files = iceberg_lake(settings).data_files()
    return LakeReader(files, "America/Chicago", {}, 90, 24)


def test_no_show_model_beats_logistic_regression_on_later_visits(trained: Trained) -> None:
    got = trained.evaluation["no_show"]
    print(json.dumps(got))  # the figures, for docs/ml.md
    assert got["rows"] >= 500
    assert got["no_shows"] >= 50
    # Issue 19's targets: AUC >= 0.80, >= logistic regression + 0.05, ECE <= 0.05.
    assert got["auc"] >= 0.80  # type: ignore[operator]
    assert got["auc"] >= got["baseline_auc"] + 0.05  # type: ignore[operator]
    assert got["auc"] > got["own_rate_auc"]  # type: ignore[operator]
    assert got["ece"] <= 0.05  # type: ignore[operator]


def test_churn_models_rank_and_classify_later_outcomes(trained: Trained) -> None:
    got = trained.evaluation["churn"]
    print(json.dumps(got))
    assert got["rows"] >= 200  # type: ignore[operator]
    assert got["c_index"] >= 0.75  # type: ignore[operator]
    assert got["auc_60d"] >= 0.80  # type: ignore[operator]
    survival = got["survival"]
    assert isinstance(survival, dict)
    assert survival
    for curve in survival.values():  # a survival curve never rises
        assert 1.0 >= curve["s30"] >= curve["s60"] >= curve["s90"] >= 0.0


def test_the_held_out_period_is_later_than_all_training(trained: Trained) -> None:
    for kind in ("no_show", "churn"):
        got = trained.evaluation[kind]
        train, test = got["train_window"], got["window"]
        assert isinstance(train, dict)
        assert isinstance(test, dict)
        assert train["end"] <= test["start"]
    reader = _reader(trained.settings)
    try:
        _, end = reader.span()
        assert end is not None
    finally:
        reader.close()


def _shuffled(frame: Frame, names: tuple[str, ...], seed: int) -> Frame:
    order = np.random.default_rng(seed).permutation(len(frame))
    return Frame({k: (v[order] if k in names else v) for k, v in frame.columns.items()})


def test_shuffled_labels_score_chance(trained: Trained) -> None:
    """No planted signal: every row's outcome (training and held-out alike) taken from
    another row, the features left as they are. The same pipeline then scores chance on the
    later period, so nothing of an outcome reaches the features or the split (the metrics are
    honest). (Shuffling the training rows alone is no such test: a model fitted to noise is a
    random function of features that do predict the real outcomes, and lands far from 0.5
    either side by luck.)"""
    reader = _reader(trained.settings)
    try:
        frame = reader.bookings()
        first, end = reader.span()
        assert first is not None
        assert end is not None
        rows = frame.where(~np.isnan(frame.floats("no_show")))
        y = rows.floats("no_show")
        cut = end - timedelta(days=HELD_OUT_DAYS)
        train = rows.floats("start_ts") < cut.timestamp()
        history = reader.churn(cut - timedelta(days=churn.HORIZON_DAYS), cut)
        later = reader.churn(cut, end)
    finally:
        reader.close()
    seen = np.full(len(history), float(churn.HORIZON_DAYS))
    later_seen = np.full(len(later), float(HELD_OUT_DAYS))
    aucs, c_indexes, aucs_60d = [], [], []
    outcome = ("next_visit_days", "churn_days")
    for seed in range(SHUFFLES):
        y_noise = np.random.default_rng(seed).permutation(y)
        _, ns = no_show.evaluate(
            rows.where(train), y_noise[train], rows.where(~train), y_noise[~train]
        )
        aucs.append(ns.auc)
        noise, later_noise = _shuffled(history, outcome, seed), _shuffled(later, outcome, seed)
        _, cs = churn.evaluate(noise, seen, later_noise, later_seen)
        c_indexes.append(cs.c_index)
        aucs_60d.append(cs.auc_60d)
    for name, got in (("auc", aucs), ("c_index", c_indexes), ("auc_60d", aucs_60d)):
        assert all(abs(g - 0.5) < 0.1 for g in got), (name, got)
        assert abs(float(np.mean(got)) - 0.5) < 0.05, (name, got)
    assert trained.evaluation["no_show"]["auc"] - max(aucs) > 0.15  # type: ignore[operator]
    assert trained.evaluation["churn"]["auc_60d"] - max(aucs_60d) > 0.15  # type: ignore[operator]


async def test_a_registry_entry_predicts_the_same_again(trained: Trained) -> None:
    db = Database(trained.settings.database_url)
    try:
        catalog = load_catalog(trained.settings.config_path)
        training = model_training(
            trained.settings, db, catalog, FixedClock(trained.history.ends_at)
        )
        async with db.read() as conn:
            cached = (await conn.execute(select(predictions))).all()
            kept = (await conn.execute(select(models))).all()
        assert {r.kind for r in cached} == {e.kind for e in trained.entries}
        assert {"no_show", "churn"} <= {e.kind for e in trained.entries}
        for entry in trained.entries:
            row = next(r for r in kept if r.id == entry.id)
            assert sha256(bytes(row.artifact)) == row.artifact_sha256 == entry.artifact_sha256
            assert row.data_hash == entry.data_hash
            assert len(row.data_hash) == 64
            assert row.window_end > row.window_start
            assert list(row.features) == list(entry.features)
            again = (await training.scores(entry.id))[entry.kind]
            before = {(r.subject, r.service): r.score for r in cached if r.kind == entry.kind}
            assert before, entry.kind
            assert {(p.subject, p.service): p.score for p in again} == before
            if entry.kind not in ("no_show", "churn"):
                continue  # the planning models' own checks: test_forecasting_planning.py
            reasons = [p.reasons for p in again if p.reasons]
            assert reasons, "predictions name their top reasons"
            assert all(r.feature in entry.features for rs in reasons for r in rs)
        # the artifact alone, loaded twice, gives identical numbers
        reader = _reader(trained.settings)
        try:
            frame = reader.bookings()
        finally:
            reader.close()
        entry = next(e for e in trained.entries if e.kind == "no_show")
        one = no_show.NoShowModel.of(load(entry.artifact)).predict(frame)
        two = no_show.NoShowModel.of(load(bytes(entry.artifact))).predict(frame)
        assert np.array_equal(one, two)
    finally:
        await db.dispose()


async def test_risks_are_for_staff_and_aggregates_for_analysts(trained: Trained) -> None:
    container = build(trained.settings, clock=FixedClock(trained.history.ends_at))
    try:
        desk = await staff_session(container, "ml-desk", "front_desk")
        analyst = await staff_session(container, "ml-analyst", "analyst")
        billing = await staff_session(container, "ml-billing", "billing")
        admin = await admin_session(container, "ml-root")
        async with app_over(container) as http:
            risks = await http.get("/v1/forecasts/no-show?limit=1000", headers=desk)
            assert risks.status_code == 200, risks.text
            rows = risks.json()
            assert rows
            assert rows == sorted(rows, key=lambda r: -r["risk"])
            assert all(0 <= r["risk"] <= 1 for r in rows)
            assert all(r["start"] >= "2026-11-07" for r in rows)
            assert any(r["reasons"] for r in rows)
            assert set(rows[0]) == {
                "booking_id", "service", "practitioner", "start", "risk", "reasons"
            }  # fmt: skip
            churned = await http.get("/v1/forecasts/churn?limit=20", headers=admin)
            assert churned.status_code == 200, churned.text
            listed = churned.json()
            assert listed
            assert all(r["name"] and r["patient_id"] for r in listed)
            for path in ("/v1/forecasts/no-show", "/v1/forecasts/churn"):
                refused(await http.get(path, headers=analyst), 403, "forbidden")
                refused(await http.get(path, headers=billing), 403, "forbidden")
                assert (await http.get(path)).status_code == 401
            summary = await http.get("/v1/forecasts/summary", headers=analyst)
            assert summary.status_code == 200, summary.text
            cells = summary.json()
            assert {c["kind"] for c in cells} == {"no_show", "churn"}
            assert set(cells[0]) == {"kind", "service", "count", "mean_risk", "high_risk"}
            assert sum(c["count"] for c in cells if c["kind"] == "no_show") == len(rows)
    finally:
        await container.aclose()


async def test_a_churn_page_audits_each_patient_it_names(trained: Trained) -> None:
    """A page naming N patients leaves N audit rows (one per patient, however many services
    they are listed for), each row naming its patient; every name is the one on the record
    of the patient whose key the cached prediction carries; staff who may not read risks get
    a refusal that names nobody."""
    container = build(trained.settings, clock=FixedClock(trained.history.ends_at))
    pseudonyms = Pseudonyms(lake_key(container.keys))
    reads = select(audit_log).where(audit_log.c.action == "read_churn_risk")
    churn_rows = select(predictions).where(predictions.c.kind == "churn")
    try:
        desk = await staff_session(container, "ml-desk-audit", "front_desk")
        analyst = await staff_session(container, "ml-analyst-audit", "analyst")
        billing = await staff_session(container, "ml-billing-audit", "billing")
        admin = await admin_session(container, "ml-root-audit")
        async with container.db.read() as conn:
            before = {r.id for r in await conn.execute(reads)}
            cached = {(r.subject, r.service): r.score for r in await conn.execute(churn_rows)}
        async with app_over(container) as http:
            page = await http.get("/v1/forecasts/churn?limit=40", headers=desk)
            assert page.status_code == 200, page.text
            listed = page.json()
            async with container.db.read() as conn:
                audited = [r for r in await conn.execute(reads) if r.id not in before]
            named = {r["patient_id"] for r in listed}
            assert len(named) >= 20
            assert len(audited) == len(named)
            assert {a.patient_id for a in audited} == named
            assert {(a.resource_type, a.resource_id) for a in audited} == {
                ("patient", pid) for pid in named
            }
            assert {a.role for a in audited} == {"front_desk"}
            assert {a.outcome for a in audited} == {"allowed"}
            for row in listed:
                key = pseudonyms.of(Kind.PATIENT, row["patient_id"])
                assert cached[(key, row["service"])] == row["risk"]
                record = await http.get(f"/v1/patients/{row['patient_id']}", headers=admin)
                assert record.status_code == 200, record.text
                got = record.json()
                assert row["name"] == f"{got['first_name']} {got['last_name']}"
            names = {r["name"] for r in listed}
            for who in (analyst, billing):
                answer = await http.get("/v1/forecasts/churn?limit=40", headers=who)
                refused(answer, 403, "forbidden")
                assert not [n for n in names if n in answer.text]
                assert not [p for p in named if p in answer.text]
        async with container.db.read() as conn:
            later = [r for r in await conn.execute(reads) if r.id not in before]
        # the refusals leave their own rows, naming no patient
        assert [r.patient_id for r in later if r.outcome == "denied"] == [None, None]
    finally:
        await container.aclose()


def _stored_text(settings: Settings) -> tuple[str, set[str]]:
    """Everything the registry and the prediction cache hold, as text; and every patient id."""

    async def go() -> tuple[str, set[str]]:
        db = Database(settings.database_url)
        try:
            async with db.read() as conn:
                kept = (await conn.execute(select(models))).all()
                cached = (await conn.execute(select(predictions))).all()
                ids = set((await conn.execute(select(patients.c.id))).scalars())
        finally:
            await db.dispose()
        parts = [json.dumps(list(r._mapping.values())[:-1], default=str) for r in kept]
        parts += [bytes(r.artifact).decode() for r in kept]
        parts += [json.dumps(list(r._mapping.values()), default=str) for r in cached]
        return "\n".join(parts), ids

    return asyncio.run(go())


def test_no_phi_in_the_registry_artifacts_or_predictions(trained: Trained) -> None:
    text, ids = _stored_text(trained.settings)
    assert len(ids) > 100
    lowered = text.lower()
    assert not [i for i in ids if i in text]  # no patient id: keys only
    assert "@" not in text  # no email
    # Any "first last" or "first.last" of the simulation's names, in one pass over the text
    # (not one per each of the ~1200 pairs: seconds); the pairs found, should one be there.
    firsts = "|".join(re.escape(f.lower()) for f in FIRST)
    lasts = "|".join(re.escape(last.lower()) for last in LAST)
    for between in (" ", "."):
        pairs = [f"{f}{between}{last}".lower() for f in FIRST for last in LAST]
        anyone = re.compile(f"(?:{firsts}){re.escape(between)}(?:{lasts})")
        assert anyone.search(lowered) is None, [n for n in pairs if n in lowered]
    artifacts = "\n".join(e.artifact.decode() for e in trained.entries)  # every model's
    # the churn rows name patients by their keyed hash; no model keeps one
    churn_rows = [line for line in text.splitlines() if line.startswith('["churn"')]
    keys_in_cache = {line.split('"')[3] for line in churn_rows}
    assert len(keys_in_cache) > 50
    assert all(len(k) == 64 for k in keys_in_cache)
    assert not [k for k in keys_in_cache if k in artifacts]
    for path in Path(trained.history.folder / "lake").rglob("*"):
        assert "forecast" not in path.name  # the models write nothing into the lake
