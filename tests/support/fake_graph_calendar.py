"""The calendars behind the fake Microsoft Graph (fake_graph.py): events per mailbox with a
change log, so calendarView/delta can answer "what changed since this token", and
getSchedule can answer from the same events. Plain data and functions; the server locks.

Times are written in UTC, as Graph answers by default, or as wall-clock dateTime and IANA
timeZone pairs in `zone` (what Graph answers to `Prefer: outlook.timezone="<zone>"`)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_counter = itertools.count(1)


def wire_time(at: datetime, zone: str | None = None) -> dict[str, str]:
    """As Graph answers: without a Prefer time zone in UTC, seven fraction digits; with one,
    the wall-clock time there and the zone's name."""
    if zone is None:
        local, zone = at.astimezone(UTC), "UTC"
    else:
        local = at.astimezone(ZoneInfo(zone))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}


def parse_time(value: Any) -> datetime:
    text = str(value["dateTime"])
    head, _, fraction = text.partition(".")
    moment = datetime.fromisoformat(head + (f".{fraction[:6]}" if fraction else ""))
    if str(value.get("timeZone", "UTC")).upper() != "UTC":
        raise ValueError("the fake reads UTC times only")
    return moment.replace(tzinfo=UTC)


def parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Event:
    id: str
    subject: str
    start: datetime
    end: datetime
    show_as: str = "busy"
    is_cancelled: bool = False
    transaction_id: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    version: int = 0
    change_key: str = ""
    deleted: bool = False

    def wire(self, zone: str | None = None) -> dict[str, Any]:
        return {
            "@odata.etag": f'W/"{self.change_key}"',
            "id": self.id,
            "changeKey": self.change_key,
            "subject": self.subject,
            "start": wire_time(self.start, zone),
            "end": wire_time(self.end, zone),
            "showAs": self.show_as,
            "isCancelled": self.is_cancelled,
            "transactionId": self.transaction_id,
            "type": "singleInstance",
        }

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass
class Mailbox:
    address: str
    events: dict[str, Event] = field(default_factory=dict)
    version: int = 0

    def touch(self, event: Event) -> Event:
        self.version += 1
        event.version = self.version
        event.change_key = uuid.uuid4().hex[:16]
        self.events[event.id] = event
        return event

    def add(self, subject: str, start: datetime, end: datetime, **extra: Any) -> Event:
        event = Event(f"AAMkAD{next(_counter):06d}{uuid.uuid4().hex[:10]}=", subject, start, end)
        for name, value in extra.items():
            setattr(event, name, value)
        return self.touch(event)

    def live(self) -> list[Event]:
        return [e for e in self.events.values() if not e.deleted]

    def by_transaction(self, transaction_id: str) -> Event | None:
        return next((e for e in self.live() if e.transaction_id == transaction_id), None)

    def changed_since(self, version: int) -> list[Event]:
        return sorted((e for e in self.events.values() if e.version > version), key=_by_version)


def _by_version(event: Event) -> int:
    return event.version


@dataclass(frozen=True)
class DeltaRound:
    """What a delta token or skip token stands for."""

    mailbox: str
    start: datetime
    end: datetime
    since: int  # versions after this one
    upto: int  # … up to this one (the state when the round began)
    offset: int = 0


def delta_items(box: Mailbox, round_: DeltaRound, zone: str | None = None) -> list[dict[str, Any]]:
    """The round's items: events in the window as they are now; deleted (or moved out) ones
    as `@removed`, inside the window or not (Graph may report removals outside it). The first
    round (since 0) lists what exists, with no removals."""
    out: list[dict[str, Any]] = []
    for event in box.changed_since(round_.since):
        if event.version > round_.upto:
            continue
        if not event.deleted and event.overlaps(round_.start, round_.end):
            out.append(event.wire(zone))
        elif round_.since > 0:
            out.append({"id": event.id, "@removed": {"reason": "deleted"}})
    return out


def schedule_of(
    box: Mailbox, start: datetime, end: datetime, interval: int, zone: str | None = None
) -> dict[str, Any]:
    """getSchedule's scheduleInformation for one mailbox."""
    events = sorted(
        (e for e in box.live() if not e.is_cancelled and e.overlaps(start, end)),
        key=lambda e: e.start,
    )
    digits = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
    view = []
    at = start
    while at < end:
        slot_end = at + timedelta(minutes=interval)
        shown = [digits.get(e.show_as, "0") for e in events if e.overlaps(at, slot_end)]
        view.append(max(shown, default="0"))
        at = slot_end
    return {
        "scheduleId": box.address,
        "availabilityView": "".join(view),
        "scheduleItems": [
            {
                "isPrivate": False,
                "status": e.show_as,
                "subject": e.subject,
                "location": "",
                "start": wire_time(e.start, zone),
                "end": wire_time(e.end, zone),
            }
            for e in events
        ],
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": "UTC"},
        },
    }
