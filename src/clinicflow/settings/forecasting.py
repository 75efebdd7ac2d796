"""The forecasting context's settings: the models' retraining and what their risks change
(docs/ml.md)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class ForecastingSettings(BaseSettings):
    """CLINICFLOW_ML_RETRAIN_HOURS, CLINICFLOW_NO_SHOW_EXTRA_REMINDER_THRESHOLD."""

    # The no-show and churn models are retrained this often (docs/ml.md), in each worker.
    ml_retrain_hours: float = Field(default=24.0, gt=0)
    # One extra reminder, two days before the visit, for bookings whose cached no-show risk
    # (docs/ml.md) is above this (0 to 1, e.g. 0.3); unset: no extra reminder.
    no_show_extra_reminder_threshold: float | None = Field(default=None, ge=0, le=1)
