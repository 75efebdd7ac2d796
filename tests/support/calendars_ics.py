"""iCalendar text for the calendar adapters' tests: one VCALENDAR around events, with the
America/Chicago VTIMEZONE the clinic's practitioners' apps would write."""

from __future__ import annotations

CHICAGO = """BEGIN:VTIMEZONE
TZID:America/Chicago
BEGIN:STANDARD
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0600
TZNAME:CST
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0600
TZOFFSETTO:-0500
TZNAME:CDT
END:DAYLIGHT
END:VTIMEZONE
"""


def vcalendar(*events: str) -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//clinicflow tests//EN\n"
        + CHICAGO
        + "".join(events)
        + "END:VCALENDAR\n"
    )


def vevent(uid: str, *lines: str) -> str:
    body = "".join(f"{line}\n" for line in lines)
    return f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20260101T000000Z\n{body}END:VEVENT\n"


# 2026: DST starts Sunday 8 March (CST -6 → CDT -5) and ends Sunday 1 November.
SINGLE = vevent(
    "single-1",
    "SUMMARY:Board meeting",
    "DTSTART;TZID=America/Chicago:20260302T130000",
    "DTEND;TZID=America/Chicago:20260302T143000",
)
# Daily at 09:00 Chicago, 5–11 March: crosses the DST change; the 7th is excluded and the
# 10th is moved to 15:00.
RECURRING = vevent(
    "daily-1",
    "SUMMARY:Rounds",
    "DTSTART;TZID=America/Chicago:20260305T090000",
    "DTEND;TZID=America/Chicago:20260305T100000",
    "RRULE:FREQ=DAILY;COUNT=7",
    "EXDATE;TZID=America/Chicago:20260307T090000",
) + vevent(
    "daily-1",
    "SUMMARY:Rounds (moved)",
    "RECURRENCE-ID;TZID=America/Chicago:20260310T090000",
    "DTSTART;TZID=America/Chicago:20260310T150000",
    "DTEND;TZID=America/Chicago:20260310T160000",
)
TRANSPARENT = vevent(
    "transparent-1",
    "SUMMARY:Reminder: order supplies",
    "DTSTART;TZID=America/Chicago:20260303T110000",
    "DTEND;TZID=America/Chicago:20260303T120000",
    "TRANSP:TRANSPARENT",
)
CANCELLED = vevent(
    "cancelled-1",
    "SUMMARY:Dentist",
    "DTSTART;TZID=America/Chicago:20260303T150000",
    "DTEND;TZID=America/Chicago:20260303T160000",
    "STATUS:CANCELLED",
)
# All day on Monday 9 March, the day after the change: midnight to midnight in Chicago is
# 05:00Z to 05:00Z (CDT).
ALL_DAY = vevent(
    "allday-1",
    "SUMMARY:Conference",
    "DTSTART;VALUE=DATE:20260309",
    "DTEND;VALUE=DATE:20260310",
)
