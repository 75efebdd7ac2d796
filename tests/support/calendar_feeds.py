"""A `BusyFeed` held in memory, for the store's and the sync engine's tests (the port is
ours; the vendors' wire formats are tested against their fake servers elsewhere).

`BoardFeed` is one source's calendar as a board of events per practitioner: a test puts
events on it (as someone would in Outlook), and the feed answers snapshots, deltas from a
cursor (a change log position), and live checks from it. It can be taken down, made to
forget its cursors, or slowed, and counts every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from clinicflow.calendars.domain.busy import BusyInterval, Delta, ShowAs, Snapshot
from clinicflow.calendars.ports import CursorExpired, SourceUnavailable


@dataclass
class BoardFeed:
    name: str
    people: tuple[str, ...]
    cursors: bool = True  # False: a source with no cheap catch-up (snapshots only)
    down: bool = False
    forgot_cursors: bool = False
    live_delay: float = 0.0
    events: dict[str, dict[str, BusyInterval]] = field(default_factory=dict)
    log: list[tuple[str, str, str | None]] = field(default_factory=list)  # (person, id, op)
    calls: dict[str, int] = field(default_factory=dict)

    def covers(self, practitioner: str) -> bool:
        return practitioner in self.people

    # -- what someone does in the calendar ---------------------------------------------

    def add(
        self,
        person: str,
        event_id: str,
        start: datetime,
        end: datetime,
        show_as: ShowAs = ShowAs.BUSY,
    ) -> BusyInterval:
        interval = BusyInterval(self.name, person, event_id, start, end, show_as, etag="1")
        self.events.setdefault(person, {})[event_id] = interval
        self.log.append((person, event_id, "upsert"))
        return interval

    def delete(self, person: str, event_id: str) -> None:
        self.events.get(person, {}).pop(event_id, None)
        self.log.append((person, event_id, "remove"))

    # -- the port --------------------------------------------------------------------------

    def _called(self, what: str) -> None:
        self.calls[what] = self.calls.get(what, 0) + 1
        if self.down:
            raise SourceUnavailable(f"{self.name} is down")

    def total_calls(self) -> int:
        return sum(self.calls.values())

    async def snapshot(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[Snapshot]:
        self._called("snapshot")
        return [
            Snapshot(
                self.name,
                p,
                start,
                end,
                tuple(
                    i for i in self.events.get(p, {}).values() if i.start < end and i.end > start
                ),
            )
            for p in practitioners
            if self.covers(p)
        ]

    async def changes(self, practitioner: str, cursor: str | None) -> Delta | None:
        self._called("changes")
        if not self.cursors:
            return None
        if cursor is not None and self.forgot_cursors:
            raise CursorExpired(f"{self.name} forgot {cursor}")
        position = len(self.log)
        if cursor is None:  # a new cursor: everything there is now, then from here
            mine = tuple(self.events.get(practitioner, {}).values())
            return Delta(self.name, practitioner, mine, (), str(position))
        since = self.log[int(cursor) :]
        upserted: dict[str, BusyInterval] = {}
        removed: list[str] = []
        for person, event_id, op in since:
            if person != practitioner:
                continue
            now = self.events.get(person, {}).get(event_id or "")
            if op == "upsert" and now is not None:
                upserted[now.external_id] = now
            elif op == "remove" and event_id is not None:
                upserted.pop(event_id, None)
                removed.append(event_id)
        return Delta(
            self.name, practitioner, tuple(upserted.values()), tuple(removed), str(position)
        )

    async def live(
        self, practitioner: str, start: datetime, end: datetime
    ) -> Sequence[BusyInterval]:
        self._called("live")
        if self.live_delay:
            await asyncio.sleep(self.live_delay)
        return [
            i for i in self.events.get(practitioner, {}).values() if i.start < end and i.end > start
        ]
