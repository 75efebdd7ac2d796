"""Calendly as a busy-time source (the calendars context's `BusyFeed`), on Calendly API v2.

Each practitioner with a `calendly:` block in config/clinic.yaml is a Calendly user (its user
URI). Their busy time is `GET /user_busy_times?user=…&start_time=…&end_time=…`, at most
**7 days a call** (Calendly answers 400 beyond), so a 60-day snapshot is 9 calls per
practitioner, 72 for eight; they run in parallel within the token's rate limit
(`_calendly_http.RateGate`). The answer mixes two kinds of items:

* `type: calendly`: a booking on one of the user's Calendly event types. It blocks its
  **buffered** times (`buffered_start_time`/`buffered_end_time`: the event type's buffers
  before and after), and its id is the scheduled event's URI;
* `type: external`: time taken in a calendar connected to Calendly with "check for
  conflicts" on. It carries only its times, so its id is a digest of the source, the
  practitioner and the times: the same event read again, or read by two overlapping
  windows, is the same interval.

There is no cheap catch-up (no cursor, no availability webhook: `changes` answers None), so
the store polls with `snapshot`; bookings made on Calendly pages also arrive by the
`invitee.*` webhooks (calendly_webhooks.py). `live` is the booking-time check: one
practitioner, a short range, one attempt under a tight time-out.

Authentication is a personal access token (Settings.calendly_token), whose requests all
count against its own user's limit. OAuth (a token per practitioner, refreshed every 2 h) is
not built yet.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from clinicflow.adapters.calendars._calendly_http import CalendlyClient
from clinicflow.calendars.domain.busy import BusyInterval, Delta, Snapshot
from clinicflow.calendars.ports import SourceUnavailable
from clinicflow.shared.clock import Clock

SOURCE = "calendly"
MAX_WINDOW = timedelta(days=7)  # Calendly's rule for /user_busy_times


class CalendlyFeed:
    name = SOURCE

    def __init__(
        self,
        client: CalendlyClient,
        users: Mapping[str, str],
        clock: Clock,
        *,
        live_timeout: float = 1.5,
    ) -> None:
        """`users`: practitioner key → Calendly user URI."""
        self._client = client
        self._users = dict(users)
        self._clock = clock
        self._live_timeout = live_timeout

    def __repr__(self) -> str:
        return f"CalendlyFeed(practitioners={sorted(self._users)!r})"

    def covers(self, practitioner: str) -> bool:
        return practitioner in self._users

    async def snapshot(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[Snapshot]:
        """All of them or none: one practitioner's failed window raises `SourceUnavailable`
        (after the other calls have finished, so none is left running)."""
        start = max(start, self._clock.now())  # Calendly refuses a start in the past
        wanted = [p for p in dict.fromkeys(practitioners) if self.covers(p)]
        calls = [self._one(p, start, end) for p in wanted]
        answers = await asyncio.gather(*calls, return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return [a for a in answers if isinstance(a, Snapshot)]

    async def changes(self, practitioner: str, cursor: str | None) -> Delta | None:
        return None  # Calendly has no cursor: the store polls `snapshot` instead

    async def live(
        self, practitioner: str, start: datetime, end: datetime
    ) -> Sequence[BusyInterval]:
        if not self.covers(practitioner):
            return ()
        start = max(start, self._clock.now())
        found = await asyncio.gather(
            *(self._window(practitioner, lo, hi, live=True) for lo, hi in split_windows(start, end))
        )
        return _distinct(interval for window in found for interval in window)

    async def _one(self, practitioner: str, start: datetime, end: datetime) -> Snapshot:
        found = await asyncio.gather(
            *(self._window(practitioner, lo, hi) for lo, hi in split_windows(start, end)),
            return_exceptions=True,
        )
        for answer in found:
            if isinstance(answer, BaseException):
                raise answer
        intervals = _distinct(
            interval for window in found if isinstance(window, list) for interval in window
        )
        return Snapshot(SOURCE, practitioner, start, max(start, end), intervals)

    async def _window(
        self, practitioner: str, lo: datetime, hi: datetime, *, live: bool = False
    ) -> list[BusyInterval]:
        params = {
            "user": self._users[practitioner],
            "start_time": wire_time(lo),
            "end_time": wire_time(hi),
        }
        answer = await self._client.get(
            "/user_busy_times",
            params,
            time_limit=self._live_timeout if live else None,
            retry=not live,
        )
        collection = answer.get("collection")
        if not isinstance(collection, list):
            raise SourceUnavailable("calendly: /user_busy_times answered without a collection")
        out = []
        for item in collection:
            interval = busy_item(practitioner, item) if isinstance(item, dict) else None
            if interval is not None:
                out.append(interval)
        return out


def split_windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) in consecutive pieces of at most 7 days."""
    lo = start
    while lo < end:
        hi = min(lo + MAX_WINDOW, end)
        yield lo, hi
        lo = hi


def busy_item(practitioner: str, item: Mapping[str, object]) -> BusyInterval | None:
    """One item of /user_busy_times; None for a kind this adapter does not know."""
    kind = item.get("type")
    if kind == "calendly":
        start = parse_time(item.get("buffered_start_time") or item.get("start_time"))
        end = parse_time(item.get("buffered_end_time") or item.get("end_time"))
        event = item.get("event")
        uri = event.get("uri") if isinstance(event, dict) else None
        external_id = uri if isinstance(uri, str) and uri else digest(practitioner, start, end)
    elif kind == "external":
        start = parse_time(item.get("start_time"))
        end = parse_time(item.get("end_time"))
        external_id = digest(practitioner, start, end)
    else:
        return None
    if end <= start:
        return None
    return BusyInterval(SOURCE, practitioner, external_id, start, end)


def digest(practitioner: str, start: datetime, end: datetime) -> str:
    """A stable id for an item Calendly gives no id: the same times, the same id."""
    text = f"{SOURCE}\0{practitioner}\0{start.isoformat()}\0{end.isoformat()}"
    return "ext:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise SourceUnavailable(f"calendly: a busy time without a time ({value!r})")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SourceUnavailable(f"calendly: unreadable time {value!r}") from exc
    if parsed.tzinfo is None:
        raise SourceUnavailable(f"calendly: a time without an offset ({value!r})")
    return parsed.astimezone(UTC)


def wire_time(at: datetime) -> str:
    """Calendly's own format: UTC with microseconds and a Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _distinct(intervals: Iterator[BusyInterval]) -> tuple[BusyInterval, ...]:
    """An item that crosses a window's edge comes back from both windows: kept once."""
    seen: dict[str, BusyInterval] = {}
    for interval in intervals:
        seen.setdefault(interval.external_id, interval)
    return tuple(sorted(seen.values(), key=lambda i: (i.start, i.end, i.external_id)))
