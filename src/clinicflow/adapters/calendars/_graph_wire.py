"""Graph's calendar values read as the calendars context's: dateTimeTimeZone ↔ aware UTC,
schedule items and events ↔ busy intervals."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clinicflow.calendars.domain.busy import BusyInterval, ShowAs

SOURCE = "microsoft"
_SHOW_AS = {s.value.lower(): s for s in ShowAs}
_UTC_NAMES = frozenset({"utc", "etc/utc", "gmt", "z", "coordinated universal time"})


def graph_time(at: datetime) -> dict[str, str]:
    """An instant as Graph's dateTimeTimeZone, in UTC."""
    return {"dateTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_time(value: object) -> datetime:
    """Graph's dateTimeTimeZone (times come in UTC unless a Prefer header asked otherwise;
    an IANA zone is read too). Raises ValueError for anything else."""
    if not isinstance(value, Mapping):
        raise ValueError(f"not a dateTimeTimeZone: {value!r}")
    text = str(value.get("dateTime", ""))
    zone = str(value.get("timeZone", "UTC"))
    head, _, fraction = text.partition(".")
    moment = datetime.fromisoformat(head + (f".{fraction[:6]}" if fraction else ""))
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    if zone.lower() in _UTC_NAMES:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"time zone {zone!r} is not one clinicflow reads") from exc


def show_as(value: object) -> ShowAs | None:
    """Graph's showAs / schedule item status; None for `unknown` and anything new."""
    return _SHOW_AS.get(str(value).lower())


def schedule_interval(practitioner: str, item: Mapping[str, Any]) -> BusyInterval | None:
    """A getSchedule item that blocks time (busy, tentative, out of office), or None. Schedule
    items carry no id: theirs is a digest of what they say, stable across calls."""
    status = show_as(item.get("status"))
    if status is None or not status.blocks:
        return None
    start, end = read_time(item.get("start")), read_time(item.get("end"))
    if end <= start:
        return None
    return BusyInterval(
        SOURCE, practitioner, schedule_id(practitioner, start, end, status), start, end, status
    )


def schedule_id(practitioner: str, start: datetime, end: datetime, status: ShowAs) -> str:
    """The id a getSchedule item is stored under: a digest of what it says. An event read
    by calendarView/delta with these times and status is the same stretch of time."""
    digest = hashlib.sha256(f"{practitioner}|{iso(start)}|{iso(end)}|{status}".encode())
    return "fb:" + digest.hexdigest()[:32]


def event_interval(practitioner: str, event: Mapping[str, Any]) -> BusyInterval | None:
    """An event that blocks time, or None (cancelled, free, working elsewhere, empty)."""
    status = show_as(event.get("showAs", "busy"))
    if event.get("isCancelled") or status is None or not status.blocks:
        return None
    start, end = read_time(event.get("start")), read_time(event.get("end"))
    if end <= start:
        return None
    etag = event.get("changeKey")
    return BusyInterval(
        SOURCE,
        practitioner,
        str(event["id"]),
        start,
        end,
        status,
        etag=str(etag) if etag else None,
    )
