"""The practitioner's ICS feed as text: the bookings given and nothing about patients, stable
UIDs, DTSTAMP, cancelled ones marked, times right across the DST change; the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from clinicflow.calendars.domain.feed import (
    FeedEntry,
    new_token,
    render,
    token_digest,
    token_matches,
)

CHICAGO = ZoneInfo("America/Chicago")
STAMP = datetime(2026, 3, 1, 12, tzinfo=UTC)


def entry(booking_id: str, start: datetime, *, cancelled: bool = False) -> FeedEntry:
    return FeedEntry(
        booking_id, "Alternative medicine", start, start + timedelta(minutes=20), cancelled, STAMP
    )


def test_the_feed_lists_the_bookings_with_stable_uids_and_no_patient_data() -> None:
    # 9:00 in Chicago on each side of the DST change (Sunday 8 March 2026).
    before = entry("b-1", datetime(2026, 3, 6, 9, tzinfo=CHICAGO))
    after = entry("b-2", datetime(2026, 3, 9, 9, tzinfo=CHICAGO))
    gone = entry("b-3", datetime(2026, 3, 10, 9, tzinfo=CHICAGO), cancelled=True)

    text = render("Dr. Elena Marsh", [after, gone, before], zone_name="America/Chicago")

    events = Calendar.from_ical(text).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == ["b-1@clinicflow", "b-2@clinicflow", "b-3@clinicflow"]
    assert [e["DTSTART"].dt for e in events] == [
        datetime(2026, 3, 6, 15, tzinfo=UTC),
        datetime(2026, 3, 9, 14, tzinfo=UTC),
        datetime(2026, 3, 10, 14, tzinfo=UTC),
    ]
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    assert {str(e["SUMMARY"]) for e in events} == {"Booked: Alternative medicine"}
    assert all(e["DTSTAMP"].dt == STAMP for e in events)
    assert set(events[0].keys()) <= {
        "UID", "DTSTAMP", "LAST-MODIFIED", "DTSTART", "DTEND", "SUMMARY", "STATUS", "TRANSP",
        "SEQUENCE",
    }  # fmt: skip


def test_the_same_bookings_render_the_same_feed() -> None:
    one = entry("b-1", datetime(2026, 3, 6, 9, tzinfo=CHICAGO))

    assert render("X", [one], zone_name="UTC") == render("X", [one], zone_name="UTC")


@given(st.text(min_size=1, max_size=60))
def test_only_the_issued_token_matches_its_digest(other: str) -> None:
    token = new_token()
    digest = token_digest(token)

    assert token_matches(token, digest)
    assert not token_matches(token, None)
    assert token_matches(other, digest) == (other == token)
    assert token not in digest
