"""Busy time from Microsoft 365 (the `BusyFeed` port):

- `snapshot`: getSchedule, one POST for up to 20 mailboxes and under 62 days (a longer
  window or more practitioners is split; the calls run together);
- `changes`: calendarView/delta per mailbox, following `@odata.nextLink` to the
  `@odata.deltaLink`, which is the cursor (stored verbatim, followed verbatim). An expired
  cursor (`syncStateNotFound`, 410 Gone) raises `CursorExpired`: the caller resyncs.
  getSchedule's items carry no ids (they are stored under a digest of their times), so each
  event a round lists also removes the item of the same times: after a full sync and the
  new cursor's first round, each event is held once, by its id;
- `live`: getSchedule for one mailbox, with a tight timeout and no waiting on throttling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from clinicflow.adapters.calendars._graph_http import GraphClient, GraphError
from clinicflow.adapters.calendars._graph_wire import (
    SOURCE,
    event_interval,
    graph_time,
    iso,
    read_time,
    schedule_id,
    schedule_interval,
)
from clinicflow.calendars.domain.busy import BusyInterval, Delta, Snapshot
from clinicflow.calendars.ports import CursorExpired, SourceUnavailable
from clinicflow.infra.logging import get_logger
from clinicflow.shared.clock import Clock

log = get_logger(__name__)

MAX_SCHEDULES = 20  # getSchedule: at most 20 schedules a call
MAX_SPAN = timedelta(days=61)  # getSchedule: the period must be shorter than 62 days
PAGE_SIZE = 200
_EXPIRED = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired"})


class GraphBusyFeed:
    name = SOURCE

    def __init__(
        self,
        graph: GraphClient,
        mailboxes: Mapping[str, str],
        clock: Clock,
        *,
        window_days: int = 60,
        live_timeout: float = 1.5,
    ) -> None:
        """`mailboxes`: practitioner key → mailbox, for those with a Microsoft 365 calendar."""
        self._graph = graph
        self._mailboxes = dict(mailboxes)
        self._clock = clock
        self._window = timedelta(days=window_days)
        self._live_timeout = live_timeout

    def covers(self, practitioner: str) -> bool:
        return practitioner in self._mailboxes

    def mailbox(self, practitioner: str) -> str:
        return self._mailboxes[practitioner]

    async def snapshot(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[Snapshot]:
        keys = [p for p in dict.fromkeys(practitioners) if self.covers(p)]
        calls = [
            self._schedule(batch, a, b)
            for batch in _batches(keys, MAX_SCHEDULES)
            for a, b in _spans(start, end, MAX_SPAN)
        ]
        found: dict[str, dict[str, BusyInterval]] = {}
        failed: set[str] = set()
        for answer in await asyncio.gather(*calls):
            for practitioner, intervals in answer.items():
                if intervals is None:
                    failed.add(practitioner)
                else:
                    found.setdefault(practitioner, {}).update((i.external_id, i) for i in intervals)
        return [
            Snapshot(SOURCE, p, start, end, tuple(sorted(found.get(p, {}).values(), key=_order)))
            for p in keys
            if p not in failed
        ]

    async def live(
        self, practitioner: str, start: datetime, end: datetime
    ) -> Sequence[BusyInterval]:
        if not self.covers(practitioner):
            return ()
        try:
            async with asyncio.timeout(self._live_timeout):
                answer = await self._schedule([practitioner], start, end, wait=0)
        except TimeoutError as exc:
            raise SourceUnavailable("Microsoft Graph did not answer in time") from exc
        intervals = answer.get(practitioner)
        if intervals is None:
            raise SourceUnavailable(f"Microsoft Graph has no schedule for {practitioner}")
        return intervals

    async def changes(self, practitioner: str, cursor: str | None) -> Delta | None:
        mailbox = self._mailboxes[practitioner]
        url = cursor or self._first_round(mailbox)
        upserted: dict[str, BusyInterval] = {}
        removed: dict[str, None] = {}
        headers = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
        while True:
            page = await self._page(url, mailbox, headers, expiring=cursor is not None)
            for item in page.get("value", []):
                self._apply(practitioner, item, upserted, removed)
            if "@odata.nextLink" in page:
                url = str(page["@odata.nextLink"])
            elif "@odata.deltaLink" in page:
                return Delta(
                    SOURCE,
                    practitioner,
                    tuple(upserted.values()),
                    tuple(removed),
                    str(page["@odata.deltaLink"]),
                )
            else:
                raise SourceUnavailable("a delta page with neither a next nor a delta link")

    def _first_round(self, mailbox: str) -> str:
        """A new cursor covers today (UTC) to `window_days` ahead; the window is fixed for the
        cursor's life, so the caller starts a new one each day."""
        today = self._clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        query = urlencode({"startDateTime": iso(today), "endDateTime": iso(today + self._window)})
        return f"{self._graph.user(mailbox)}/calendarView/delta?{query}"

    async def _page(
        self, url: str, mailbox: str, headers: Mapping[str, str], *, expiring: bool
    ) -> dict[str, Any]:
        try:
            answer = await self._graph.call("GET", url, mailbox=mailbox, headers=headers)
        except GraphError as exc:
            if expiring and (exc.status == 410 or exc.code.lower() in _EXPIRED):
                raise CursorExpired(str(exc)) from exc
            raise
        page: dict[str, Any] = answer.json()
        return page

    def _apply(
        self,
        practitioner: str,
        item: Mapping[str, Any],
        upserted: dict[str, BusyInterval],
        removed: dict[str, None],
    ) -> None:
        """One delta item, later items overriding earlier ones (a page may repeat an id)."""
        event_id = str(item.get("id", ""))
        if not event_id:
            return
        if "@removed" in item:
            # Graph may report removals outside the window; those were never in it.
            if self._outside_window(item):
                return
            upserted.pop(event_id, None)
            removed[event_id] = None
            return
        try:
            interval = event_interval(practitioner, item)
        except (KeyError, ValueError) as exc:
            log.warning("graph_event_unreadable", practitioner=practitioner, error=str(exc))
            return
        if interval is None:  # cancelled or no longer blocking: whatever was stored goes
            upserted.pop(event_id, None)
            removed[event_id] = None
        else:
            removed.pop(event_id, None)
            upserted[event_id] = interval
            # The same stretch as getSchedule named it (a full sync, a live check) goes: the
            # event now stands for it, and a later move or deletion of the event must not
            # leave its copy behind.
            twin = schedule_id(practitioner, interval.start, interval.end, interval.show_as)
            removed[twin] = None

    def _outside_window(self, item: Mapping[str, Any]) -> bool:
        if "start" not in item or "end" not in item:
            return False
        try:
            start, end = read_time(item["start"]), read_time(item["end"])
        except ValueError:
            return False
        now = self._clock.now()
        return end <= now - timedelta(days=1) or start >= now + self._window + timedelta(days=1)

    async def _schedule(
        self,
        practitioners: Sequence[str],
        start: datetime,
        end: datetime,
        *,
        wait: float | None = None,
    ) -> dict[str, tuple[BusyInterval, ...] | None]:
        """One getSchedule call: each practitioner's blocking items, or None where Graph
        could not read that schedule."""
        by_mailbox = {self._mailboxes[p].lower(): p for p in practitioners}
        anchor = self._mailboxes[practitioners[0]]
        body = {
            "schedules": [self._mailboxes[p] for p in practitioners],
            "startTime": graph_time(start),
            "endTime": graph_time(end),
            "availabilityViewInterval": 60,
        }
        answer = await self._graph.call(
            "POST",
            f"{self._graph.user(anchor)}/calendar/getSchedule",
            mailbox=anchor,
            json=body,
            max_retry_wait=wait,
        )
        out: dict[str, tuple[BusyInterval, ...] | None] = {p: None for p in practitioners}
        for info in answer.json().get("value", []):
            practitioner = by_mailbox.get(str(info.get("scheduleId", "")).lower())
            if practitioner is None:
                continue
            if info.get("error"):
                log.warning(
                    "graph_schedule_unreadable",
                    practitioner=practitioner,
                    code=str(info["error"].get("responseCode", "")),
                )
                continue
            items = (schedule_interval(practitioner, i) for i in info.get("scheduleItems", []))
            out[practitioner] = tuple(i for i in items if i is not None)
        return out


def _batches(keys: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(keys), size):
        yield keys[i : i + size]


def _spans(start: datetime, end: datetime, most: timedelta) -> Iterator[tuple[datetime, datetime]]:
    at = start
    while at < end:
        yield at, min(at + most, end)
        at += most


def _order(interval: BusyInterval) -> tuple[datetime, str]:
    return interval.start, interval.external_id
