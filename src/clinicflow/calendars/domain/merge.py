"""How what a source says changes the store: each answer becomes a `Plan` (intervals to
write, ids to drop) for one source and practitioner, worked out against what the store
holds. The repository only carries a plan out; the rules are here.

- A **snapshot** speaks for its window only: the held intervals that overlap the window and
  that it no longer lists are dropped; what it lists is written. Intervals that do not
  overlap the window are never touched (unless the snapshot lists their id: the event
  moved). What it lists outside its window is ignored: it proves nothing there.
- A **delta** writes what it lists and drops the ids it removes; nothing else changes. An
  id both listed and removed is kept (written): a busy interval wrongly kept costs one
  slot, one wrongly dropped can cost a double booking.
- Writing an interval identical to the held one is no change (a poll that finds nothing
  new leaves the store, and the availability cache, alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from clinicflow.calendars.domain.busy import BusyInterval, Delta, Snapshot

Key = tuple[str, str, str]  # (source, practitioner, external_id)


def key_of(interval: BusyInterval) -> Key:
    return (interval.source, interval.practitioner, interval.external_id)


@dataclass(frozen=True, slots=True)
class Plan:
    source: str
    practitioner: str
    upsert: tuple[BusyInterval, ...] = ()
    remove: tuple[str, ...] = ()  # external ids

    @property
    def changed(self) -> bool:
        return bool(self.upsert or self.remove)


def overlaps(interval: BusyInterval, start: datetime, end: datetime) -> bool:
    return interval.start < end and interval.end > start


def _check(source: str, practitioner: str, intervals: Iterable[BusyInterval]) -> None:
    for interval in intervals:
        if (interval.source, interval.practitioner) != (source, practitioner):
            raise ValueError(
                f"an interval of {interval.source}/{interval.practitioner} in an answer "
                f"about {source}/{practitioner}"
            )
        if interval.end <= interval.start:
            raise ValueError(f"interval {interval.external_id} ends before it starts")


def _mine(held: Iterable[BusyInterval], source: str, practitioner: str) -> dict[str, BusyInterval]:
    return {i.external_id: i for i in held if (i.source, i.practitioner) == (source, practitioner)}


def plan_snapshot(held: Iterable[BusyInterval], snapshot: Snapshot) -> Plan:
    """`held`: at least the source's intervals for the practitioner that overlap the window
    or carry an id the snapshot lists (more is harmless)."""
    s, p = snapshot.source, snapshot.practitioner
    _check(s, p, snapshot.intervals)
    lo, hi = snapshot.window_start, snapshot.window_end
    listed = {i.external_id: i for i in snapshot.intervals if overlaps(i, lo, hi)}
    mine = _mine(held, s, p)
    upsert = tuple(i for eid, i in listed.items() if mine.get(eid) != i)
    remove = tuple(
        sorted(eid for eid, i in mine.items() if eid not in listed and overlaps(i, lo, hi))
    )
    return Plan(s, p, upsert, remove)


def plan_delta(held: Iterable[BusyInterval], delta: Delta) -> Plan:
    """`held`: at least the source's intervals for the practitioner with the ids the delta
    lists or removes."""
    s, p = delta.source, delta.practitioner
    _check(s, p, delta.upserted)
    listed = {i.external_id: i for i in delta.upserted}
    mine = _mine(held, s, p)
    upsert = tuple(i for eid, i in listed.items() if mine.get(eid) != i)
    remove = tuple(sorted({eid for eid in delta.removed if eid in mine and eid not in listed}))
    return Plan(s, p, upsert, remove)


def apply(store: Mapping[Key, BusyInterval], plan: Plan) -> dict[Key, BusyInterval]:
    """The store after `plan` (what the repository does, in memory)."""
    after = dict(store)
    for eid in plan.remove:
        after.pop((plan.source, plan.practitioner, eid), None)
    for interval in plan.upsert:
        after[key_of(interval)] = interval
    return after


def merge(store: Mapping[Key, BusyInterval], answer: Snapshot | Delta) -> dict[Key, BusyInterval]:
    """The store after one answer from a source."""
    held = store.values()
    plan = plan_snapshot(held, answer) if isinstance(answer, Snapshot) else plan_delta(held, answer)
    return apply(store, plan)


def coalesce(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Busy spans (start, end) in minutes, sorted, with those that overlap or touch joined:
    the same time taken, in as few blocks as it takes (the same event seen by two sources is
    one block for the engine)."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out
