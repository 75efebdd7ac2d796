"""Practitioners' CalDAV calendars (Nextcloud, Fastmail, iCloud, Radicale …) as a `BusyFeed`,
spoken on the injected httpx client (docs/calendars.md "CalDAV").

Two ways to read a calendar, per practitioner (`caldav.read` in config/clinic.yaml):
- `events` (default): a calendar-query REPORT with a time-range returns the events whole;
  recurrences are expanded here in the clinic's zone (`_icalendar_busy`), so all-day and
  floating events land on the practitioner's local day. Falls back to `freebusy` when the
  server refuses it (403: the account may read free/busy only).
- `freebusy`: a free-busy-query REPORT; the server expands and merges, and nothing but busy
  periods leaves it (a private calendar's titles never reach clinicflow). Servers place
  all-day events by their own zone (Radicale: UTC midnight). Falls back to `events` when the
  server does not support the report.

`changes` uses sync-collection (RFC 6578) as a cheap "has anything changed?": nothing →
an empty `Delta` with the new token; a change → `ChangedSinceCursor` (a `CursorExpired`),
so the caller reads that practitioner's window again, one REPORT. CalDAV names the changed
resources but not the occurrences they held, so a delta of intervals cannot be built
without a copy of the old events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from clinicflow.adapters.calendars import _caldav_wire as wire
from clinicflow.adapters.calendars import _icalendar_busy as ical
from clinicflow.adapters.calendars._whole_feed import ReadWholeFeed
from clinicflow.calendars.domain.busy import BusyInterval, Delta
from clinicflow.calendars.ports import CursorExpired, SourceUnavailable
from clinicflow.catalog import Catalog

ReadMode = Literal["events", "freebusy"]
T = TypeVar("T")
_UNSUPPORTED = (400, 403, 404, 405, 415, 422, 501)


class ChangedSinceCursor(CursorExpired):
    """The calendar changed since the cursor: read the practitioner's window again."""


@dataclass(frozen=True, slots=True)
class CalDavCalendar:
    """One practitioner's calendar collection. `password` comes from Settings
    (CLINICFLOW_CALDAV_PASSWORDS), never from the YAML; None sends no credentials."""

    url: str
    username: str | None = None
    password: str | None = None
    read: ReadMode = "events"

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"CalDavCalendar(url={self.url!r}, username={self.username!r}, read={self.read!r})"


class CalDavFeed(ReadWholeFeed):
    name = "caldav"

    def __init__(
        self,
        http: httpx.AsyncClient,
        calendars: Mapping[str, CalDavCalendar],
        *,
        zone: ZoneInfo,
        concurrency: int = 4,
        timeout: float | None = None,
    ) -> None:
        self._http = http
        self._calendars = dict(calendars)
        self._zone = zone
        self._gate = asyncio.Semaphore(concurrency)
        self._timeout = httpx.Timeout(timeout) if timeout is not None else None
        # The mode that works with each server, learnt from its refusals.
        self._mode: dict[str, ReadMode] = {p: c.read for p, c in self._calendars.items()}

    def covers(self, practitioner: str) -> bool:
        return practitioner in self._calendars

    def mode(self, practitioner: str) -> ReadMode:
        return self._mode[practitioner]

    async def changes(self, practitioner: str, cursor: str | None) -> Delta | None:
        calendar = self._calendars[practitioner]
        response = await self._report(calendar, wire.sync_collection(cursor), depth="0")
        if cursor is not None and wire.refuses_token(response.status_code, response.content):
            raise CursorExpired(f"the CalDAV server no longer knows {practitioner}'s sync token")
        if response.status_code in _UNSUPPORTED:
            return None  # no sync-collection on this server: snapshots only
        resources, token = self._multistatus(response, calendar)
        if token is None:
            return None
        if cursor is not None and resources:
            raise ChangedSinceCursor(f"{len(resources)} change(s) in {practitioner}'s calendar")
        return Delta(self.name, practitioner, next_cursor=token)

    # -- reading a window -----------------------------------------------------------------

    async def _busy(
        self, practitioner: str, start: datetime, end: datetime
    ) -> tuple[BusyInterval, ...]:
        calendar = self._calendars[practitioner]
        first = self._mode[practitioner]
        for mode in (first, _other(first)):
            found = await self._read(mode, practitioner, calendar, start, end)
            if found is not None:
                self._mode[practitioner] = mode
                return found
        raise SourceUnavailable(f"{practitioner}'s CalDAV server answers neither REPORT")

    async def _read(
        self,
        mode: ReadMode,
        practitioner: str,
        calendar: CalDavCalendar,
        start: datetime,
        end: datetime,
    ) -> tuple[BusyInterval, ...] | None:
        """The window's busy intervals, or None when the server does not do `mode`."""
        if mode == "freebusy":
            response = await self._report(calendar, wire.free_busy_query(start, end))
            if response.status_code in _UNSUPPORTED or not _is_calendar(response):
                return None
            key = f"{self.name}:{practitioner}"
            found = await self._off_loop(
                lambda: ical.busy_periods(ical.parse(response.content), self._zone, key)
            )
            return self._intervals(practitioner, found, {})
        response = await self._report(calendar, wire.calendar_query(start, end))
        if response.status_code in _UNSUPPORTED:
            return None
        resources, _ = self._multistatus(response, calendar)
        return await self._expanded(practitioner, resources, start, end)

    async def _expanded(
        self,
        practitioner: str,
        resources: list[wire.Resource],
        start: datetime,
        end: datetime,
    ) -> tuple[BusyInterval, ...]:
        def expand() -> tuple[list[ical.Busy], dict[str, str]]:
            busy: list[ical.Busy] = []
            etags: dict[str, str] = {}
            for resource in resources:
                if resource.data is None:
                    continue
                found = ical.busy_events(ical.parse(resource.data), start, end, self._zone)
                busy += found
                if resource.etag:
                    etags.update((b.key, resource.etag) for b in found)
            return busy, etags

        busy, etags = await self._off_loop(expand)
        return self._intervals(practitioner, busy, etags)

    def _intervals(
        self, practitioner: str, busy: list[ical.Busy], etags: Mapping[str, str]
    ) -> tuple[BusyInterval, ...]:
        unique = {b.key: b for b in busy}  # one interval per occurrence, whatever the server
        return tuple(
            BusyInterval(
                self.name, practitioner, b.key, b.start, b.end, b.show_as, etags.get(b.key)
            )
            for b in sorted(unique.values(), key=lambda b: (b.start, b.key))
        )

    async def _off_loop(self, work: Callable[[], T]) -> T:
        """Parsing and expanding remote text is CPU work: in a thread, never on the loop."""
        try:
            return await asyncio.to_thread(work)
        except ical.UnreadableCalendar as exc:
            raise SourceUnavailable(f"the CalDAV server sent {exc}") from exc

    # -- HTTP -----------------------------------------------------------------------------

    async def _report(
        self, calendar: CalDavCalendar, body: str, *, depth: str = "1"
    ) -> httpx.Response:
        auth = (
            httpx.BasicAuth(calendar.username, calendar.password or "")
            if calendar.username
            else None
        )
        headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
        async with self._gate:
            try:
                response = await self._http.request(
                    "REPORT",
                    calendar.url,
                    content=body.encode(),
                    headers=headers,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                    timeout=self._timeout or httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TimeoutException as exc:
                raise SourceUnavailable("the CalDAV server timed out") from exc
            except httpx.TransportError as exc:
                raise SourceUnavailable(f"the CalDAV server is unreachable ({exc})") from exc
        if response.status_code == 401:
            raise SourceUnavailable("the CalDAV server refused the credentials (401)")
        if response.status_code == 429 or response.status_code >= 500:
            raise SourceUnavailable(f"the CalDAV server answered {response.status_code}")
        return response

    def _multistatus(
        self, response: httpx.Response, calendar: CalDavCalendar
    ) -> tuple[list[wire.Resource], str | None]:
        if response.status_code != 207:
            raise SourceUnavailable(f"the CalDAV server answered {response.status_code}")
        try:
            return wire.multistatus(response.content, calendar.url)
        except wire.UnreadableAnswer as exc:
            raise SourceUnavailable(f"the CalDAV server sent {exc}") from exc


def _other(mode: ReadMode) -> ReadMode:
    return "freebusy" if mode == "events" else "events"


def _is_calendar(response: httpx.Response) -> bool:
    kind = response.headers.get("Content-Type", "")
    return response.status_code == 200 and kind.lower().startswith("text/calendar")


def caldav_feed(
    http: httpx.AsyncClient, catalog: Catalog, passwords: Mapping[str, SecretStr]
) -> CalDavFeed | None:
    """The feed of every practitioner with `caldav:` in clinic.yaml (None when none has),
    with the passwords from CLINICFLOW_CALDAV_PASSWORDS: for the composition root."""
    calendars = {
        key: CalDavCalendar(
            url=p.caldav.url,
            username=p.caldav.username,
            password=passwords[key].get_secret_value() if key in passwords else None,
            read=p.caldav.read,
        )
        for key, p in catalog.practitioners.items()
        if p.caldav is not None
    }
    return CalDavFeed(http, calendars, zone=catalog.clinic.tz) if calendars else None
