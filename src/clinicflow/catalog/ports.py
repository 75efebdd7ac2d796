"""What the catalog's use cases need: its unit of work and the launches repository."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.infra.unit_of_work import Transaction


class LaunchRepository(Protocol):
    """The services launched at run time: a launch is a row, so every replica agrees."""

    async def launched(self) -> frozenset[str]: ...

    async def record(self, service: str, at: datetime, by: str) -> bool:
        """Whether this call launched it: False when it had been launched before."""
        ...


class CatalogUnitOfWork(Transaction, Protocol):
    @property
    def launches(self) -> LaunchRepository: ...
