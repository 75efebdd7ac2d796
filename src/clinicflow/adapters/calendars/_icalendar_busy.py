"""iCalendar text → busy intervals: what a CalDAV server or an ICS subscription says, read the
same way for both.

- Recurring events are expanded inside the window with `recurring-ical-events` (RRULE,
  RDATE, EXDATE, and RECURRENCE-ID overrides replacing their occurrence).
- `STATUS:CANCELLED` and `TRANSP:TRANSPARENT` do not block; `STATUS:TENTATIVE` blocks as
  tentative (Outlook's mapping, `ShowAs`).
- All-day events (DATE values) and floating times (no zone) are the practitioner's local
  time: the clinic's zone. An all-day event covers midnight to midnight there, so a DST day
  is 23 or 25 hours long.
- A VFREEBUSY (the answer to a CalDAV free-busy-query) gives periods with an FBTYPE.

Parsing and expansion are CPU work on text a remote party wrote: the adapters run them off
the event loop (`asyncio.to_thread`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Component

from clinicflow.calendars.domain.busy import ShowAs


class UnreadableCalendar(ValueError):
    """The text is not iCalendar this module can read."""


@dataclass(frozen=True, slots=True)
class Busy:
    """One blocking stretch: `key` is stable for the same occurrence across reads."""

    key: str
    start: datetime  # UTC
    end: datetime
    show_as: ShowAs


def parse(text: bytes) -> list[Calendar]:
    """Every VCALENDAR in `text` (a CalDAV answer holds one per resource; a feed, one)."""
    try:
        return list(Calendar.from_ical(text, multiple=True))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise UnreadableCalendar(f"not iCalendar ({type(exc).__name__})") from exc


def busy_events(
    calendars: Iterable[Calendar], start: datetime, end: datetime, zone: ZoneInfo
) -> list[Busy]:
    """The blocking occurrences of the calendars' events that overlap [start, end)."""
    out: list[Busy] = []
    for calendar in calendars:
        try:
            occurrences = list(recurring_ical_events.of(calendar).between(start, end))
        except (ValueError, TypeError, KeyError) as exc:  # a broken RRULE, a bad date
            raise UnreadableCalendar(f"cannot expand ({type(exc).__name__})") from exc
        for event in occurrences:
            busy = _busy(event, zone)
            if busy is not None and busy.start < end and busy.end > start:
                out.append(busy)
    return out


def busy_periods(calendars: Iterable[Calendar], zone: ZoneInfo, source: str) -> list[Busy]:
    """The busy periods of VFREEBUSY components (FBTYPE=FREE ones left out)."""
    out: list[Busy] = []
    for calendar in calendars:
        for component in calendar.walk("VFREEBUSY"):
            for prop in _as_list(component.get("FREEBUSY")):
                params = getattr(prop, "params", {})
                show_as = _FBTYPE.get(str(params.get("FBTYPE", "BUSY")).upper(), ShowAs.BUSY)
                if not show_as.blocks:
                    continue
                for start, end in _periods(prop, zone):
                    key = _digest(source, start, end)
                    out.append(Busy(key, start, end, show_as))
    return out


_FBTYPE = {
    "BUSY": ShowAs.BUSY,
    "BUSY-TENTATIVE": ShowAs.TENTATIVE,
    "BUSY-UNAVAILABLE": ShowAs.OOF,
    "FREE": ShowAs.FREE,
}


def _busy(event: Component, zone: ZoneInfo) -> Busy | None:
    status = str(event.get("STATUS", "")).upper()
    if status == "CANCELLED" or str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    first = _when(event, "DTSTART")
    if first is None:
        return None
    start = _instant(first, zone)
    end = _end(event, first, start, zone)
    if end <= start:  # a point in time (no DTEND, no DURATION) takes no time
        return None
    show_as = ShowAs.TENTATIVE if status == "TENTATIVE" else ShowAs.BUSY
    return Busy(_key(event, start, zone), start, end, show_as)


def _end(event: Component, first: date, start: datetime, zone: ZoneInfo) -> datetime:
    last = _when(event, "DTEND")
    if last is not None:
        return _instant(last, zone)
    length = event.decoded("DURATION", None)
    if isinstance(length, timedelta):
        return start + length
    if not isinstance(first, datetime):
        return _instant(first + timedelta(days=1), zone)  # RFC 5545 §3.6.1: one day
    return start


def _key(event: Component, start: datetime, zone: ZoneInfo) -> str:
    """The UID, and for an occurrence of a series the instant it was scheduled at (its
    RECURRENCE-ID), so a moved occurrence keeps its key."""
    uid = str(event.get("UID", "")) or _digest("no-uid", start)
    recurrence = _when(event, "RECURRENCE-ID")
    if recurrence is None:
        return uid
    return f"{uid}#{_instant(recurrence, zone):%Y%m%dT%H%M%SZ}"


def _when(component: Component, name: str) -> date | None:
    """A DATE or DATE-TIME property (a datetime is a date too), or None."""
    value = component.decoded(name, None)
    return value if isinstance(value, date) else None


def _instant(value: date, zone: ZoneInfo) -> datetime:
    """UTC; a date is local midnight and a floating time local wall time, in `zone`."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _periods(prop: object, zone: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    periods = getattr(prop, "dt", None)
    if isinstance(periods, tuple):  # one period
        periods = [periods]
    for period in periods if isinstance(periods, list) else []:
        first, second = period
        start = _instant(first, zone)
        end = start + second if isinstance(second, timedelta) else _instant(second, zone)
        if end > start:
            yield start, end


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _digest(*parts: object) -> str:
    text = "|".join(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
