"""The forecasting context's errors."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, NotFound


class NoModel(NotFound, code="no_model"):
    """No model of that kind has been trained yet (`clinicflow ml train`)."""


class NotEnoughHistory(Conflict, code="not_enough_history"):
    """The lake holds too little history to train and evaluate on (a few months of visits
    are needed: the later part is held out)."""
