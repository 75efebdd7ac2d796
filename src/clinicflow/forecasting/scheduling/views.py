"""What a schedule proposal answers (the dataclasses live with the pure proposal,
`domain/proposal.py`, which `clinicflow ml` computes too)."""

from __future__ import annotations

from clinicflow.forecasting.scheduling.domain.proposal import Proposal, ShiftView

__all__ = ["Proposal", "ShiftView"]
