"""The forecasting context's periodic job: the nightly retrain (`ModelTraining.run`: both
models fitted on the lake as it is, kept in the registry, predictions cached)."""

from __future__ import annotations

from datetime import timedelta

from clinicflow.forecasting.service import ModelTraining
from clinicflow.infra.jobs import Job

RETRAIN = "forecasting_retrain"


def retrain_job(training: ModelTraining, every: timedelta = timedelta(days=1)) -> Job:
    return Job(RETRAIN, every, training.run)
