"""What the planning models need from outside: the lake's current files (the analytics
lake adapter, `adapters/lake/iceberg.IcebergLake`, has them), and the settings the model
registry's latest entries hold (`forecasting/service.py` `RegistrySettings`)."""

from __future__ import annotations

from typing import Protocol

from clinicflow.forecasting.demand.domain.model import Engine
from clinicflow.forecasting.scheduling.domain.proposal import Solver
from clinicflow.forecasting.waitlist.domain.model import Model


class LakeFiles(Protocol):
    def data_files(self) -> list[str]:
        """The Parquet files of the lake's current snapshot (blocking: called in a thread)."""
        ...


class ModelSettings(Protocol):
    """The latest registry entry's model or settings per kind; None before any `ml train`
    (the routes then use the defaults the entries would record)."""

    async def engine(self) -> Engine | None: ...

    async def solver(self) -> Solver | None: ...

    async def waitlist(self) -> Model | None: ...
