"""The schedule proposal's response: the view as it stands."""

from __future__ import annotations

from clinicflow.forecasting.scheduling.views import Proposal


class ProposalOut(Proposal):
    pass
