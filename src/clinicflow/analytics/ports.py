"""What analytics needs from outside: its units of work (the raw event record), the lake it
writes, and the patients' traits the lake keeps in coarse form."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from clinicflow.analytics.domain.lake import PatientTraits, Row, SourceEvent
from clinicflow.analytics.domain.metrics import Inputs, Metric, Question
from clinicflow.infra.unit_of_work import Transaction


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as it was published (ids and facts, no PHI), and when it was recorded."""

    event_id: str
    type: str
    version: int
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, object]
    recorded_at: datetime


class EventLog(Protocol):
    async def add(self, event: RecordedEvent) -> bool:
        """Keep `event`; False when it was kept before (a redelivery adds nothing)."""
        ...

    async def add_many(self, events: Sequence[RecordedEvent]) -> int:
        """`add` for each of `events`, at once; how many were new."""
        ...

    async def sequence(self, limit: int) -> int:
        """Give up to `limit` recorded events without a place in the order the next places,
        in recorded order; how many were placed. Serialized across processes, so places are
        given in commit order: once a place is visible, every lower one is too."""
        ...

    async def after(self, seq: int, limit: int) -> list[SourceEvent]:
        """Up to `limit` placed events after place `seq`, in order."""
        ...

    async def count_after(self, seq: int) -> int:
        """How many events, placed or not yet, the lake has still to take after `seq`."""
        ...


class AnalyticsUnitOfWork(Transaction, Protocol):
    @property
    def events(self) -> EventLog: ...

    @property
    def views(self) -> ViewCounts: ...


class Lake(Protocol):
    """The de-identified event table on files. Each `append` is one atomic commit that
    carries the writer's high-water mark, so the mark and the rows cannot disagree."""

    async def mark(self) -> int:
        """The place of the last event the lake holds (0 when empty), read from the table's
        current snapshot."""
        ...

    async def append(
        self, rows: Sequence[Row], *, since: int, mark: int, forget: Collection[str]
    ) -> None:
        """Add `rows` (the events after place `since`) and set the mark to `mark`, in one
        commit; in the same commit, rows already there whose patient key is in `forget` lose
        that key and its traits, and no older snapshot keeps them. Raises `LakeConflict`
        when the lake's mark is not `since` (another writer ran) or moves before the commit."""
        ...

    async def rebuild(self) -> Lake:
        """An empty table beside this one, to fill and then `replace` this one with."""
        ...

    async def replace(self, rebuilt: Lake) -> None:
        """Put `rebuilt` in this table's place (readers see the old table until then)."""
        ...


class PatientFacts(Protocol):
    """The patients' side: each patient's traits as they are now (bootstrap wires it over
    the patients context's public surface)."""

    async def traits(self, patient_ids: Collection[str]) -> Mapping[str, PatientTraits]: ...


class LakeFiles(Protocol):
    """The lake as a reader sees it: the Parquet files of its current snapshot."""

    async def files(self) -> list[str]: ...


Span = tuple[datetime, datetime]


class ExternalBusy(Protocol):
    """The practitioners' busy time in their external calendars (the calendars context's
    store), for the supply of offered minutes; aware instants."""

    async def busy(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Span]]: ...


class ViewCounts(Protocol):
    """The availability views counted per local day and service (the funnel's first step)."""

    async def add(self, counts: Mapping[tuple[date, str], int]) -> None:
        """Add `counts` to the stored ones."""
        ...

    async def between(self, lo: date, hi: date) -> list[tuple[date, str, int]]: ...


Cells = tuple[object, ...]


class MetricsEngine(Protocol):
    """The metrics' definitions and the engine that runs them over the lake's files."""

    def metric(self, name: str) -> Metric | None: ...

    async def answer(self, q: Question, files: Sequence[str], inputs: Inputs) -> list[Cells]: ...
