"""The planning models' errors."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, InvalidRequest


class NotEnoughHistory(Conflict, code="not_enough_history", title="Not enough history"):
    """The lake holds too little history to forecast or to judge a model on."""


class BadHorizon(InvalidRequest, code="bad_horizon", title="Horizon out of range"): ...
