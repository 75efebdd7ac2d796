"""The demand forecast's response: the views as they stand (docs/architecture.md)."""

from __future__ import annotations

from clinicflow.forecasting.demand.views import DemandForecast


class DemandForecastOut(DemandForecast):
    pass
