"""Reading patients on in-memory units of work: who may see which record, and the audit row
every read, search and refusal leaves (a read's in a unit of work of its own)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.domain.patient import Patient, PatientFields, Referral
from clinicflow.patients.errors import PatientNotFound
from clinicflow.patients.records.service import PatientReader, PatientService
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, Unauthenticated
from support.fake_patients import (
    ANALYST,
    BILLING,
    DOCTOR,
    FRONT_DESK,
    NOW,
    FakePatients,
    client_actor,
    patient_actor,
)


async def make(service: PatientService, n: int, referral: Referral | None = None) -> Patient:
    fields = PatientFields(
        first_name=f"Pat{n}",
        last_name="Example",
        email=f"pat{n}@example.org",
        phone="+15125550142",  # a family's shared phone
        referral=referral,
    )
    return await service.create(FRONT_DESK, PatientChanges(fields))


async def test_a_read_is_audited_once_read(
    service: PatientService, reader: PatientReader, world: FakePatients
) -> None:
    made = await make(service, 1)
    assert await reader.get(FRONT_DESK, made.id) == made
    assert world.committed_audit()[-1] == ("read", "allowed", made.id)
    assert world.ledger.audited[-1][0].break_glass is False


async def test_a_patient_reads_only_their_own_record(
    service: PatientService, reader: PatientReader, world: FakePatients
) -> None:
    mine, theirs = await make(service, 1), await make(service, 2)
    me = patient_actor(mine.id)
    assert (await reader.get(me, mine.id)).id == mine.id
    assert (await reader.record(me, mine.id)).patient.id == mine.id
    with pytest.raises(PatientNotFound):
        await reader.get(me, theirs.id)
    assert world.committed_audit()[-1] == ("read", "denied", theirs.id)


async def test_a_missing_record_answers_like_an_out_of_scope_one(
    reader: PatientReader, world: FakePatients
) -> None:
    with pytest.raises(PatientNotFound, match="no patient 'nobody'"):
        await reader.get(FRONT_DESK, "nobody")
    assert world.committed_audit() == [("read", "denied", "nobody")]


async def test_a_practitioner_reads_their_patients_and_others_only_by_break_glass(
    service: PatientService, reader: PatientReader, world: FakePatients
) -> None:
    mine, theirs = await make(service, 1), await make(service, 2)
    world.visit(mine.id, NOW + timedelta(days=1), practitioner="doctor1")
    world.visit(theirs.id, NOW + timedelta(days=1), practitioner="doctor2")
    assert (await reader.record(DOCTOR, mine.id)).patient.id == mine.id
    with pytest.raises(PatientNotFound):
        await reader.get(DOCTOR, theirs.id)
    assert world.committed_audit()[-1] == ("read", "denied", theirs.id)
    glass = replace(DOCTOR, break_glass_reason="covering for doctor2 today")
    assert (await reader.get(glass, theirs.id)).id == theirs.id
    entry, _ = world.ledger.audited[-1]
    assert (entry.action, entry.break_glass, entry.reason, entry.patient_id) == (
        "read",
        True,
        "covering for doctor2 today",
        theirs.id,
    )


async def test_billing_reads_profiles_but_not_visit_records(
    service: PatientService, reader: PatientReader, world: FakePatients
) -> None:
    made = await make(service, 1)
    assert (await reader.get(BILLING, made.id)).id == made.id
    with pytest.raises(Forbidden):
        await reader.record(BILLING, made.id)
    assert world.committed_audit()[-1] == ("read_record", "denied", made.id)


@pytest.mark.parametrize(
    ("actor", "refusal"),
    [
        (ANALYST, Forbidden),
        (ANONYMOUS, Unauthenticated),
        (client_actor("bookings:read"), Forbidden),
    ],
)
async def test_who_sees_no_record_at_all(
    service: PatientService,
    reader: PatientReader,
    world: FakePatients,
    actor: Any,
    refusal: type[Exception],
) -> None:
    made = await make(service, 1)
    before = world.committed_audit()
    for read in (reader.get, reader.record):
        with pytest.raises(refusal):
            await read(actor, made.id)
    with pytest.raises(refusal):
        await reader.search(actor, email=made.email, phone=None)
    denied = world.committed_audit()[len(before) :]
    expected = (
        []
        if actor is ANONYMOUS
        else [
            ("read", "denied", made.id),
            ("read_record", "denied", made.id),
            ("search", "denied", "*"),
        ]
    )
    assert denied == expected


async def test_a_search_finds_by_exact_email_or_phone_and_audits_each_found(
    service: PatientService, reader: PatientReader, world: FakePatients
) -> None:
    one, two = await make(service, 1), await make(service, 2)
    found = await reader.search(FRONT_DESK, email="pat1@example.org", phone=None)
    assert [p.id for p in found] == [one.id]
    assert world.committed_audit()[-1] == ("search", "allowed", one.id)
    family = await reader.search(FRONT_DESK, email=None, phone="+15125550142")
    assert [p.id for p in family] == [one.id, two.id]  # oldest first
    assert world.committed_audit()[-2:] == [
        ("search", "allowed", one.id),
        ("search", "allowed", two.id),
    ]
    audited = len(world.ledger.audited)
    assert await reader.search(FRONT_DESK, email="no@example.org", phone=None) == []
    assert len(world.ledger.audited) == audited  # nothing touched, nothing recorded


async def test_a_practitioner_finds_only_their_own_patients(
    service: PatientService, reader: PatientReader, world: FakePatients
) -> None:
    mine, theirs = await make(service, 1), await make(service, 2)
    world.visit(mine.id, NOW - timedelta(days=3), practitioner="doctor1")
    world.visit(theirs.id, NOW - timedelta(days=3), practitioner="doctor2")
    found = await reader.search(DOCTOR, email=None, phone="+15125550142")
    assert [p.id for p in found] == [mine.id]
    assert world.committed_audit()[-1] == ("search", "allowed", mine.id)


async def test_the_record_shows_every_service_past_and_upcoming(
    service: PatientService, reader: PatientReader, world: FakePatients, clock: FixedClock
) -> None:
    made = await make(service, 1)
    referred = await make(service, 2, referral=Referral("patient", made.id))
    dup = await make(service, 3)
    past = world.visit(made.id, NOW - timedelta(days=2), booking_id="past")
    world.visit(made.id, NOW + timedelta(days=2), booking_id="next", service="gaps_coaching")
    world.enroll(made.id, "gaps_coaching", NOW - timedelta(days=1))
    world.enroll(made.id, "alternative_medicine", NOW - timedelta(days=30))
    await service.merge(FRONT_DESK, dup.id, made.id)
    clock.advance(timedelta(days=3))  # "next" is past now too
    record = await reader.record(client_actor("patients:read"), made.id)
    assert [e.service for e in record.enrollments] == ["alternative_medicine", "gaps_coaching"]
    services = {s.service: s for s in record.services}
    assert [v.booking_id for v in services["alternative_medicine"].past] == [past.booking_id]
    assert [v.booking_id for v in services["gaps_coaching"].past] == ["next"]
    assert services["gaps_coaching"].upcoming == []
    assert record.referred_patients == [referred.id]
    assert record.merged_from == [dup.id]
    assert world.committed_audit()[-1] == ("read_record", "allowed", made.id)


async def test_reads_commit_nothing_but_their_audit_rows(
    service: PatientService, reader: PatientReader, world: FakePatients
) -> None:
    made = await make(service, 1)
    store = copy.deepcopy(world.store)
    await reader.get(FRONT_DESK, made.id)
    await reader.record(FRONT_DESK, made.id)
    await reader.search(FRONT_DESK, email=made.email, phone=None)
    assert world.store.patients == store.patients
    reading = [u for u in world.opened if not u.write]
    assert len(reading) == 3
    assert not any(u.committed for u in reading)
