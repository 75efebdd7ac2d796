"""Rendered texts and the calendar invitation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from icalendar import Calendar
from jinja2 import UndefinedError

from clinicflow.adapters.messaging.smtp_email import compose_email
from clinicflow.catalog.domain import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.notifications.domain import ics
from clinicflow.notifications.domain.render import Renderer, RenderOptions
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.ports import Attachment, Email

CLINIC_YAML = Path(__file__).resolve().parents[3] / "config" / "clinic.yaml"
# Wednesday 2026-11-25 10:00 in Chicago.
START = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
VISIT = Visit(
    booking_id="b-123",
    service="alternative_medicine",
    visit_type="initial",
    practitioner="doctor1",
    start=START,
    end=START + timedelta(minutes=20),
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CLINIC_YAML)


@pytest.fixture
def renderer(catalog: Catalog) -> Renderer:
    return Renderer(catalog, RenderOptions("https://clinic.example/"))


def test_confirmation_email_names_clinic_local_time_practitioner_and_link(
    renderer: Renderer,
) -> None:
    out = renderer.render("confirmation.email", VISIT)
    assert out.subject == (
        "Your visit at Riverbend Wellness Clinic on Wednesday 25 November 2026 is booked"
    )
    assert "Wednesday 25 November 2026 at 10:00 (CST)" in out.text
    assert "Dr. Elena Marsh" in out.text
    assert "https://clinic.example/me/visits/b-123" in out.text
    assert out.html is not None
    assert 'href="https://clinic.example/me/visits/b-123"' in out.html


def test_sms_is_minimal_and_names_no_service_unless_allowed(
    renderer: Renderer, catalog: Catalog
) -> None:
    text = renderer.render("confirmation.sms", VISIT).text
    assert text == (
        "Riverbend Wellness Clinic: visit booked Wednesday 25 November 2026 10:00. "
        "Manage: https://clinic.example/me/visits/b-123"
    )
    assert "Alternative" not in text
    allowed = Renderer(catalog, RenderOptions("https://clinic.example", sms_service_name=True))
    assert "(Alternative medicine)" in allowed.render("reminder.sms", VISIT).text


def test_html_is_escaped(catalog: Catalog) -> None:
    odd = replace(catalog, clinic=replace(catalog.clinic, name="<b>Evil</b> & Co"))
    out = Renderer(odd, RenderOptions("https://x")).render("cancelled.email", VISIT)
    assert out.html is not None
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in out.html
    assert "<b>Evil</b> & Co" in out.text  # plain text is not HTML


def test_rescheduled_text_says_where_it_moved_from(renderer: Renderer) -> None:
    moved = replace(VISIT, previous_start=START - timedelta(days=1))
    assert "moved from Tue 24 Nov 10:00" in renderer.render("rescheduled.email", moved).text


def test_templates_are_strict_about_missing_values(renderer: Renderer) -> None:
    template = renderer._env.from_string("{{ nothing_here }}")
    with pytest.raises(UndefinedError):
        template.render({})


def _event(data: bytes) -> tuple[Calendar, object]:
    cal = Calendar.from_ical(data)
    [event] = cal.walk("VEVENT")
    return cal, event


def test_invitation_has_uid_utc_times_method_request_and_no_service() -> None:
    data = ics.invitation(
        VISIT,
        kind="confirmation",
        clinic_name="Riverbend Wellness Clinic",
        organizer_email="clinic@clinic.example",
        stamp=START - timedelta(days=1),
    )
    cal, event = _event(data)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == "b-123@clinicflow"
    assert event["DTSTART"].dt == START
    assert event["DTEND"].dt == START + timedelta(minutes=20)
    assert b"DTSTART:20261125T160000Z" in data
    assert str(event["SUMMARY"]) == "Visit at Riverbend Wellness Clinic"
    assert int(event["SEQUENCE"]) == 0


def test_cancellation_uses_method_cancel_same_uid_and_higher_sequence() -> None:
    common = {"clinic_name": "C", "organizer_email": None, "stamp": START}
    invite = _event(ics.invitation(VISIT, kind="confirmation", **common))[1]
    cal, cancel = _event(ics.invitation(VISIT, kind="cancelled", sequence=1, **common))
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(cancel["UID"]) == str(invite["UID"])
    assert int(cancel["SEQUENCE"]) > int(invite["SEQUENCE"])
    assert str(cancel["STATUS"]) == "CANCELLED"


def test_composed_email_carries_the_ics_as_a_calendar_attachment() -> None:
    data = ics.invitation(
        VISIT, kind="confirmation", clinic_name="C", organizer_email=None, stamp=START
    )
    email = Email(
        "pat@example.com",
        "Subject",
        "Text",
        html="<p>Text</p>",
        attachments=[Attachment("invite.ics", "text/calendar; method=REQUEST", data)],
    )
    message = compose_email("Clinic <c@clinic.example>", email, START)
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    [part] = list(parsed.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    assert _event(part.get_content())[1]["UID"] == "b-123@clinicflow"
