"""What the demand use cases answer (the dataclasses live with the pure forecast,
`domain/forecast.py`, which `clinicflow ml` computes too)."""

from __future__ import annotations

from clinicflow.forecasting.demand.domain.forecast import (
    Backtest,
    DayDemand,
    DemandForecast,
    WeekDemand,
)

__all__ = ["Backtest", "DayDemand", "DemandForecast", "WeekDemand"]
