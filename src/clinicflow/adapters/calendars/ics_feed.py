"""Read-only ICS subscriptions (an https address per practitioner: Google's "secret address
in iCal format", Outlook's published calendar, a school's holiday feed …) as a `BusyFeed`
(docs/calendars.md "ICS subscriptions").

Fetched on the injected httpx client with If-None-Match / If-Modified-Since, so an unchanged
feed costs a 304 and no parsing; parsed with `icalendar` and expanded inside the window with
`recurring-ical-events` (`_icalendar_busy`), off the event loop. A feed has no cursor
(`changes` is None) and no ids of its own beyond the events' UIDs.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar

from clinicflow.adapters.calendars import _icalendar_busy as ical
from clinicflow.adapters.calendars._whole_feed import ReadWholeFeed
from clinicflow.calendars.domain.busy import BusyInterval, Delta
from clinicflow.calendars.ports import SourceUnavailable
from clinicflow.catalog import Catalog

MAX_BYTES = 10 * 1024 * 1024  # a year of a busy calendar is well under 1 MB


@dataclass(frozen=True, slots=True)
class _Copy:
    etag: str | None
    last_modified: str | None
    calendars: tuple[Calendar, ...]


class IcsFeed(ReadWholeFeed):
    name = "ics"

    def __init__(
        self,
        http: httpx.AsyncClient,
        subscriptions: Mapping[str, Sequence[str]],
        *,
        zone: ZoneInfo,
        concurrency: int = 4,
        max_bytes: int = MAX_BYTES,
        timeout: float | None = None,
    ) -> None:
        self._http = http
        self._urls = {
            p: tuple(_https(u) for u in urls) for p, urls in subscriptions.items() if urls
        }
        self._zone = zone
        self._gate = asyncio.Semaphore(concurrency)
        self._max_bytes = max_bytes
        self._timeout = httpx.Timeout(timeout) if timeout is not None else None
        self._copies: dict[str, _Copy] = {}  # by URL: the last feed read, for 304s

    def covers(self, practitioner: str) -> bool:
        return practitioner in self._urls

    async def changes(self, practitioner: str, cursor: str | None) -> Delta | None:
        return None  # a feed is only ever read whole

    async def _busy(
        self, practitioner: str, start: datetime, end: datetime
    ) -> tuple[BusyInterval, ...]:
        urls = self._urls[practitioner]
        copies = await asyncio.gather(*(self._fetch(url) for url in urls))
        intervals: dict[str, BusyInterval] = {}
        for url, copy in zip(urls, copies, strict=True):
            prefix = hashlib.sha256(url.encode()).hexdigest()[:8]
            try:
                busy = await asyncio.to_thread(
                    ical.busy_events, copy.calendars, start, end, self._zone
                )
            except ical.UnreadableCalendar as exc:
                raise SourceUnavailable(f"an ICS feed of {practitioner} is {exc}") from exc
            for b in busy:
                key = f"{prefix}:{b.key}"
                intervals[key] = BusyInterval(
                    self.name, practitioner, key, b.start, b.end, b.show_as, copy.etag
                )
        return tuple(sorted(intervals.values(), key=lambda i: (i.start, i.external_id)))

    async def _fetch(self, url: str) -> _Copy:
        """The feed now: the kept copy when the server answers 304 Not Modified."""
        kept = self._copies.get(url)
        headers = {"Accept": "text/calendar"}
        if kept is not None and kept.etag:
            headers["If-None-Match"] = kept.etag
        if kept is not None and kept.last_modified:
            headers["If-Modified-Since"] = kept.last_modified
        async with self._gate:
            status, response_headers, body = await self._get(url, headers)
        if status == 304 and kept is not None:
            return kept
        if status != 200:
            raise SourceUnavailable(f"an ICS feed answered {status}")
        try:
            calendars = await asyncio.to_thread(ical.parse, body)
        except ical.UnreadableCalendar as exc:
            raise SourceUnavailable(f"an ICS feed is {exc}") from exc
        copy = _Copy(
            response_headers.get("ETag"), response_headers.get("Last-Modified"), tuple(calendars)
        )
        self._copies[url] = copy
        return copy

    async def _get(self, url: str, headers: dict[str, str]) -> tuple[int, httpx.Headers, bytes]:
        # The address is often a secret (a private feed's token is in its path): errors name
        # the feed's host at most, never the whole URL.
        host = httpx.URL(url).host
        try:
            async with self._http.stream(
                "GET",
                url,
                headers=headers,
                follow_redirects=True,
                timeout=self._timeout or httpx.USE_CLIENT_DEFAULT,
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise SourceUnavailable(
                            f"the ICS feed at {host} is over {self._max_bytes} bytes"
                        )
                return response.status_code, response.headers, bytes(body)
        except httpx.TimeoutException as exc:
            raise SourceUnavailable(f"the ICS feed at {host} timed out") from exc
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"the ICS feed at {host} is unreachable ({type(exc).__name__})"
            ) from exc


def _https(url: str) -> str:
    """webcal:// is how calendar apps spell an https feed."""
    return "https://" + url[len("webcal://") :] if url.lower().startswith("webcal://") else url


def ics_feed(http: httpx.AsyncClient, catalog: Catalog) -> IcsFeed | None:
    """The feed of every practitioner with `ics:` in clinic.yaml (None when none has)."""
    urls = {key: p.ics for key, p in catalog.practitioners.items() if p.ics}
    return IcsFeed(http, urls, zone=catalog.clinic.tz) if urls else None
