"""The calendar invitation a confirmation carries, and the cancellation that withdraws it.

The UID is stable per booking, so a calendar app updates (or removes) the same entry; a
cancellation or a move carries a higher SEQUENCE than the invitation it replaces.
"""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from clinicflow.notifications.domain.visit import Visit

PRODID = "-//clinicflow//notifications//EN"
SEQUENCE = {"confirmation": 0, "rescheduled": 1, "cancelled": 2}


def uid(booking_id: str) -> str:
    return f"{booking_id}@clinicflow"


def invitation(
    visit: Visit,
    *,
    kind: str,
    clinic_name: str,
    organizer_email: str | None,
    stamp: datetime,
    summary_detail: str | None = None,
    sequence: int | None = None,
) -> bytes:
    """`summary_detail` (e.g. the service's name) is added to the summary only when the clinic
    allows it: calendars are often shared, and a service name can hint at a condition."""
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", uid(visit.booking_id))
    event.add("dtstamp", stamp)
    event.add("dtstart", visit.start)
    event.add("dtend", visit.end)
    summary = f"Visit at {clinic_name}" + (f": {summary_detail}" if summary_detail else "")
    event.add("summary", summary)
    event.add("sequence", SEQUENCE.get(kind, 0) if sequence is None else sequence)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if organizer_email:
        event.add("organizer", f"mailto:{organizer_email}")
    cal.add_component(event)
    return bytes(cal.to_ical())
