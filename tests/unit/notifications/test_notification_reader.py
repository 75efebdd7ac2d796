"""Reading the messages, on the in-memory unit of work: admin and front desk staff read any
patient's, a signed-in patient their own, nobody else any; every read audited per patient
seen; texts rendered again from the facts (none for a skipped message). The route, its
problem+json answers and the audit rows in SQL are tests/integration/test_notifications_api.py.
"""

from __future__ import annotations

import pytest

from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.errors import Forbidden, InvalidRequest, Unauthenticated
from support.fake_notifications import Clinic, Reach, booking_event

ADMIN = Actor(kind="user", id="root", role=Role.ADMIN)
DESK = Actor(kind="user", id="desk", role=Role.FRONT_DESK)
PRACTITIONER = Actor(kind="user", id="doc", role=Role.PRACTITIONER, practitioner="doctor1")
PAT1 = Actor(kind="patient", id="patient:p1", role=Role.PATIENT, patient_id="p1")
CLIENT = Actor(kind="client", id="crm", role=Role.CLIENT)


async def two_patients() -> Clinic:
    clinic = Clinic(sms=False)
    clinic.db.tables.contacts["p2"] = Reach("pat2@example.com", None, {})
    await clinic.handle(booking_event())
    await clinic.handle(booking_event(booking_id="b2", patient_id="p2"))
    return clinic


async def test_staff_read_every_patients_messages_rendered_and_each_patient_audited() -> None:
    clinic = await two_patients()
    for staff in (ADMIN, DESK):
        found = await clinic.wired.reader.list(staff, None, None)
        assert sorted((v.patient_id, v.template, v.status) for v in found) == [
            ("p1", "confirmation.email", "sent"),
            ("p1", "confirmation.sms", "skipped"),
            ("p2", "confirmation.email", "sent"),
            ("p2", "confirmation.sms", "skipped"),
        ]
    reads = [(who, a.patient_id) for who, action, a in clinic.db.trail.read]
    assert reads == [("root", "p1"), ("root", "p2"), ("desk", "p1"), ("desk", "p2")]
    assert {a for _, a, _ in clinic.db.trail.read} == {"read_notifications"}


async def test_texts_are_rendered_on_read_and_a_skipped_message_has_none() -> None:
    clinic = await two_patients()
    found = {v.template: v for v in await clinic.wired.reader.list(ADMIN, "p1", None)}
    email = found["confirmation.email"]
    assert email.subject is not None
    assert "Riverbend Wellness Clinic" in email.subject
    assert email.text is not None
    assert "/me/visits/b1" in email.text
    skipped = found["confirmation.sms"]
    assert (skipped.subject, skipped.text, skipped.reason) == (None, None, "no consent")


async def test_a_patient_reads_only_their_own() -> None:
    clinic = await two_patients()
    own = await clinic.wired.reader.list(PAT1, None, None)
    assert {v.patient_id for v in own} == {"p1"}
    assert await clinic.wired.reader.list(PAT1, "p1", "sent") == [
        v for v in own if v.status == "sent"
    ]
    with pytest.raises(Forbidden):
        await clinic.wired.reader.list(PAT1, "p2", None)
    assert [(who, a.patient_id) for who, _, a in clinic.db.trail.denied] == [("patient:p1", "p2")]


async def test_other_roles_are_refused_and_recorded_and_anonymous_callers_must_sign_in() -> None:
    clinic = await two_patients()
    for caller in (PRACTITIONER, CLIENT):
        with pytest.raises(Forbidden):
            await clinic.wired.reader.list(caller, "p1", None)
    with pytest.raises(Unauthenticated):
        await clinic.wired.reader.list(ANONYMOUS, None, None)
    assert [(who, a.resource_id) for who, _, a in clinic.db.trail.denied] == [
        ("doc", "p1"),
        ("crm", "p1"),
    ]
    assert clinic.db.trail.read == []


async def test_a_status_outside_the_list_is_refused_naming_them() -> None:
    clinic = await two_patients()
    with pytest.raises(InvalidRequest, match="queued, sending, sent, delivered, failed, skipped"):
        await clinic.wired.reader.list(ADMIN, None, "lost")


async def test_filters_and_the_limit_apply_newest_first() -> None:
    clinic = await two_patients()
    found = await clinic.wired.reader.list(ADMIN, "p2", "sent", limit=1)
    assert [(v.patient_id, v.status) for v in found] == [("p2", "sent")]
    assert [(who, a.patient_id) for who, _, a in clinic.db.trail.read] == [("root", "p2")]
