"""The lake writer: moves the raw event record into the lake, de-identified, exactly once.

Each run places the events recorded since the last one in the order (`EventLog.sequence`,
in commit order), reads the lake's mark from its current snapshot, and appends the events
after it batch by batch, each batch with its new mark in the same commit. A crash anywhere
leaves the lake at the last committed mark, and the next run starts from there: nothing is
lost, and nothing is written twice. Two writers at once: one commit fails (`LakeConflict`),
the loser stops, and the winner's mark is where everyone resumes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from clinicflow.analytics.domain.lake import (
    Pseudonyms,
    SourceEvent,
    forget,
    forgotten,
    lake_row,
    patient_ids,
)
from clinicflow.analytics.domain.metrics import (
    PERSON_COLUMNS,
    BadQuestion,
    Hours,
    Inputs,
    offered_minutes,
    question,
    suppressed,
)
from clinicflow.analytics.errors import InvalidQuestion, LakeConflict, UnknownMetric
from clinicflow.analytics.guard import AnalyticsGuard
from clinicflow.analytics.ports import (
    AnalyticsUnitOfWork,
    Cells,
    ExternalBusy,
    Lake,
    LakeFiles,
    MetricsEngine,
    PatientFacts,
)
from clinicflow.analytics.views import Cell, Report, ReportColumn
from clinicflow.catalog import Catalog
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock

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


class AvailabilityViews:
    """The funnel's first step: anonymous availability reads counted per local day and
    service, in memory (the gateway calls `seen` per answer; nothing about the caller is
    kept), and added to the stored counts by `flush` (every `every` seconds, before a report,
    and as the app stops). A crash loses at most the unflushed counts."""

    def __init__(
        self,
        *,
        uow: UnitsOfWork[AnalyticsUnitOfWork],
        catalog: Catalog,
        clock: Clock,
        every: float = 60.0,
    ) -> None:
        self._uow = uow
        self._catalog = catalog
        self._clock = clock
        self._every = timedelta(seconds=every)
        self._counts: dict[tuple[date, str], int] = {}
        self._last = clock.now()
        self._pending: set[asyncio.Task[None]] = set()
        # The clinic's day `seen` last counted in, and the instants it runs between: the
        # next read within them skips the time-zone conversion (a clock set back recomputes).
        self._day = self._last.date()
        self._day_from = self._day_until = self._last

    def seen(self, service: str) -> None:
        """One availability answer for `service` (a service the catalog has, else nothing)."""
        if service not in self._catalog.services:
            return
        now = self._clock.now()
        if not self._day_from <= now < self._day_until:
            tz = self._catalog.clinic.tz
            self._day = now.astimezone(tz).date()
            self._day_from = datetime.combine(self._day, time(0), tz)
            self._day_until = datetime.combine(self._day + timedelta(days=1), time(0), tz)
        key = (self._day, service)
        self._counts[key] = self._counts.get(key, 0) + 1
        if now - self._last >= self._every and not self._pending:
            self._last = now
            task = asyncio.get_running_loop().create_task(self.flush_quietly())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def flush(self) -> int:
        """Add the counts so far to the stored ones; how many views they held."""
        counts, self._counts = self._counts, {}
        if not counts:
            return 0
        try:
            async with self._uow() as uow:
                await uow.views.add(counts)
                await uow.commit()
        except Exception:
            for key, n in counts.items():  # kept for the next flush
                self._counts[key] = self._counts.get(key, 0) + n
            raise
        return sum(counts.values())

    async def flush_quietly(self) -> None:
        """`flush`, a failure logged (the counts stay for the next one)."""
        try:
            await self.flush()
        except Exception as exc:
            log.warning("availability_views_not_flushed", error=type(exc).__name__)


@dataclass(kw_only=True, eq=False)
class AnalyticsReports:
    """The metrics (docs/analytics.md "Metrics"), for analysts and admins: one typed table
    per question, computed by the engine over the lake's current snapshot with the supply
    of offered minutes (the catalog's hours less time off and external busy time), list
    prices, availability views and churn windows handed to it. Never a person's key."""

    uow: UnitsOfWork[AnalyticsUnitOfWork]
    lake: LakeFiles
    engine: MetricsEngine
    catalog: Catalog
    busy: ExternalBusy
    guard: AnalyticsGuard
    views: AvailabilityViews
    churn_days: Mapping[str, int] = field(default_factory=dict)
    churn_default: int = 90
    min_cell: int = 5

    async def run(
        self,
        actor: Actor,
        metric: str,
        start: date,
        end: date,
        group_by: Sequence[str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Report:
        await self.guard.require(actor, metric)
        found = self.engine.metric(metric)
        if found is None:
            raise UnknownMetric(f"no metric {metric!r}")
        try:
            q = question(found, start, end, group_by, params or {})
        except BadQuestion as exc:
            raise InvalidQuestion(str(exc)) from None
        columns = q.columns
        if any(c.name in PERSON_COLUMNS for c in columns):  # a definition's mistake
            raise InvalidQuestion(f"{metric} would name people; it is not answered")
        inputs = await self._inputs(start, end)
        rows = await self.engine.answer(q, await self.lake.files(), inputs)
        kept, hidden = self._small_cells_withheld(found.people, [c.name for c in columns], rows)
        return Report(
            metric=metric,
            view=q.view,
            start=start,
            end=end,
            group_by=q.group_by,
            columns=tuple(ReportColumn(c.name, c.kind.value) for c in columns),
            rows=tuple(tuple(_cell(v) for v in row) for row in kept),
            suppressed=hidden,
        )

    async def _inputs(self, start: date, end: date) -> Inputs:
        catalog = self.catalog
        tz = catalog.clinic.tz
        lo = datetime.combine(start, time(), tz)
        hi = datetime.combine(end + timedelta(days=1), time(), tz)
        busy = await self.busy.busy(list(catalog.practitioners), lo, hi)
        hours = [
            Hours(
                practitioner=p.key,
                services=p.services,
                weekly={d: [(i.start, i.end) for i in v] for d, v in p.weekly_hours.items()},
                exceptions={d: [(i.start, i.end) for i in v] for d, v in p.exceptions.items()},
                time_off=[(t.start, t.end) for t in p.time_off],
            )
            for p in catalog.practitioners.values()
        ]
        await self.views.flush()
        async with self.uow.reading() as uow:
            seen = await uow.views.between(start, end)
        return Inputs(
            tz=catalog.clinic.timezone,
            supply=offered_minutes(hours, start, end, tz, busy),
            offers=[(h.practitioner, s) for h in hours for s in h.services],
            prices=list_prices(catalog),
            views=seen,
            churn_days=self.churn_days,
            churn_default=self.churn_default,
            late_cancel_hours=catalog.payments.cancellation.full_refund_hours,
        )

    def _small_cells_withheld(
        self, people: str | None, names: list[str], rows: list[Cells]
    ) -> tuple[list[Cells], int]:
        if people is None or people not in names:
            return rows, 0
        at = names.index(people)
        measures = {names.index(n) for n in names[at:]}
        out: list[Cells] = []
        hidden = 0
        for row in rows:
            count = row[at]
            if isinstance(count, int) and suppressed(count, self.min_cell):
                hidden += 1
                row = tuple(None if i in measures else v for i, v in enumerate(row))
            out.append(row)
        return out, hidden


def list_prices(catalog: Catalog) -> list[tuple[str, str, int]]:
    """(service, visit type, list price in cents) for each priced visit type: what revenue
    spreads an order over its visits by."""
    return [
        (s.key, v.key, v.price_cents)
        for s in catalog.services.values()
        for v in s.visit_types.values()
        if v.price_cents is not None
    ]


def _cell(value: object) -> Cell:
    if value is None or isinstance(value, str | int | float | date):
        return value
    return float(str(value))  # a Decimal
