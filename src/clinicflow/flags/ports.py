"""What the flags' use cases need: their unit of work and its repository."""

from __future__ import annotations

from typing import Protocol

from clinicflow.flags.views import FlagView
from clinicflow.infra.unit_of_work import Transaction


class FlagRepository(Protocol):
    async def all(self) -> list[FlagView]:
        """Every flag an admin has set."""
        ...

    async def put(self, flag: FlagView) -> None:
        """Insert the flag, or replace every column of the one with its key."""
        ...


class FlagsUnitOfWork(Transaction, Protocol):
    @property
    def flags(self) -> FlagRepository: ...
