"""The risk lists and the aggregates on the API (each a view as it stands)."""

from __future__ import annotations

from clinicflow.forecasting.views import ChurnRisk, NoShowRisk, RiskSummary


class NoShowRiskOut(NoShowRisk):
    pass


class ChurnRiskOut(ChurnRisk):
    pass


class RiskSummaryOut(RiskSummary):
    pass
