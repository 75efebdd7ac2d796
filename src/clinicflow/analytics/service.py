"""The lake writer: moves the raw event record into the lake, de-identified, exactly once.

Each run places the events recorded since the last one in the order (`EventLog.sequence`,
in commit order), reads the lake's mark from its current snapshot, and appends the events
after it batch by batch, each batch with its new mark in the same commit. A crash anywhere
leaves the lake at the last committed mark, and the next run starts from there: nothing is
lost, and nothing is written twice. Two writers at once: one commit fails (`LakeConflict`),
the loser stops, and the winner's mark is where everyone resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from clinicflow.analytics.domain.lake import (
    Pseudonyms,
    SourceEvent,
    forget,
    forgotten,
    lake_row,
    patient_ids,
)
from clinicflow.analytics.errors import LakeConflict
from clinicflow.analytics.ports import AnalyticsUnitOfWork, Lake, PatientFacts
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork

log = get_logger(__name__)

Moved = Callable[[int], None]  # told how many events each committed batch took


def _nothing(_: int) -> None:
    pass


@dataclass(kw_only=True, eq=False)
class LakeWriter:
    uow: UnitsOfWork[AnalyticsUnitOfWork]
    lake: Lake
    patients: PatientFacts
    names: Pseudonyms
    batch: int = 500

    async def run(self, _now: datetime) -> int:
        """The periodic job: everything recorded so far; how many events moved."""
        return await self.sync()

    async def sync(self, moved: Moved = _nothing) -> int:
        """Move every event the lake lacks, in batches; how many moved. Stops early, having
        kept what it committed, when another writer commits first."""
        total = 0
        mark = await self.lake.mark()
        while True:
            async with self.uow() as uow:
                await uow.events.sequence(self.batch)
                await uow.commit()
            async with self.uow.reading() as uow:
                events = await uow.events.after(mark, self.batch)
            if not events:
                return total
            try:
                mark = await self._write(events, mark)
            except LakeConflict:
                log.info("lake_sync_yielded", moved=total)
                return total
            total += len(events)
            moved(len(events))

    async def pending(self) -> int:
        """How many recorded events the lake does not hold yet."""
        mark = await self.lake.mark()
        async with self.uow.reading() as uow:
            return await uow.events.count_after(mark)

    async def rebuild(self, moved: Moved = _nothing) -> int:
        """The lake made again from the whole record, beside the old table, then put in its
        place: readers see the old table until the new one is complete."""
        fresh = await self.lake.rebuild()
        count = await replace(self, lake=fresh).sync(moved)
        await self.lake.replace(fresh)
        return count

    async def _write(self, events: list[SourceEvent], since: int) -> int:
        traits = await self.patients.traits(patient_ids(events))
        keys = forgotten(events, self.names, traits)
        rows = [forget(lake_row(event, self.names, traits), keys) for event in events]
        mark = events[-1].seq
        await self.lake.append(rows, since=since, mark=mark, forget=keys)
        return mark
