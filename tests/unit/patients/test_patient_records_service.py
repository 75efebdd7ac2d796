"""The patient record's write use cases on in-memory units of work: what each accepts and
refuses, what it changes, what it audits (and commits), and that a refusal leaves nothing.
The SQL behind them (unique email index, sealing, merges across tables) is tested against
both databases in tests/integration/test_patients_api.py."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.domain.patient import (
    Address,
    Patient,
    PatientFields,
    Referral,
)
from clinicflow.patients.errors import MergeConflict, PatientExists, PatientMerged, PatientNotFound
from clinicflow.patients.records.service import PatientService
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, InvalidRequest, Unauthenticated
from support.fake_patients import (
    ADMIN,
    DOCTOR,
    FRONT_DESK,
    NOW,
    FakePatients,
    client_actor,
    patient_actor,
)

ADA = PatientFields(
    first_name="Adaline",
    last_name="Quorrel",
    email="adaline.quorrel@example.org",
    phone="+15125550142",
    birth_date=date(1984, 3, 9),
    sex="female",
    pronouns="she/her",
    address=Address("12 Elm St", "Austin", "TX", "78701"),
    notes="prefers mornings",
    contact_prefs={"email": True, "sms": False},
    referral=Referral(source="campaign", campaign="spring-fair"),
)


def changes(**values: Any) -> PatientChanges:
    return PatientChanges(PatientFields(**values))  # type: ignore[typeddict-item]


async def make(service: PatientService, **over: Any) -> Patient:
    return await service.create(FRONT_DESK, changes(**{**ADA, **over}))


async def make_pair(service: PatientService, **dup: Any) -> tuple[Patient, Patient]:
    """Adaline's record, and a duplicate of it under dup@example.org (`dup`: what else differs)."""
    keep = await make(service)
    return keep, await make(service, **{"email": "dup@example.org", **dup})


# -- create ---------------------------------------------------------------------------------


async def test_a_created_record_is_audited_and_its_consent_timed(
    service: PatientService, world: FakePatients
) -> None:
    made = await make(service)
    assert made == world.store.patients[made.id]
    assert (made.first_name, made.email, made.status, made.version) == (
        "Adaline",
        "adaline.quorrel@example.org",
        "active",
        1,
    )
    assert made.contact_prefs["email"] == {
        "opt_in": True,
        "consent_at": NOW.isoformat(),
        "withdrawn_at": None,
    }
    assert made.contact_prefs["sms"]["opt_in"] is False
    assert made.contact_prefs["sms"]["withdrawn_at"] == NOW.isoformat()
    assert world.committed_audit() == [("create", "allowed", made.id)]
    ((entry, at),) = world.ledger.audited
    assert (entry.actor_id, entry.patient_id, at) == ("desk", made.id, NOW)
    assert world.ledger.published == []  # creating a record tells no one


@pytest.mark.parametrize(
    ("missing", "words"),
    [
        ({"first_name": None}, "first_name and last_name are required"),
        ({"last_name": ""}, "first_name and last_name are required"),
        ({"email": None, "phone": None}, "give an email or a phone number"),
    ],
)
async def test_a_record_needs_names_and_a_way_to_reach_them(
    service: PatientService, world: FakePatients, missing: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidRequest, match=words):
        await make(service, **missing)
    assert world.store.patients == {}
    assert world.ledger.commits == 0


async def test_a_phone_alone_is_enough(service: PatientService) -> None:
    made = await make(service, email=None)
    assert (made.email, made.phone) == (None, "+15125550142")


async def test_an_email_belongs_to_one_record(service: PatientService, world: FakePatients) -> None:
    first = await make(service)
    with pytest.raises(PatientExists) as refused:
        await make(service, phone="+15125550199")
    assert refused.value.extra == {"patient_id": first.id}
    assert list(world.store.patients) == [first.id]
    assert world.committed_audit() == [("create", "allowed", first.id)]  # none for the refusal


async def test_a_referral_must_name_another_existing_patient(
    service: PatientService, world: FakePatients
) -> None:
    with pytest.raises(InvalidRequest, match=r"referral\.patient_id"):
        await make(service, referral=Referral(source="patient", patient_id="nobody"))
    assert world.store.patients == {}
    friend = await make(service)
    referred = await make(
        service,
        email="b@example.org",
        referral=Referral(source="patient", patient_id=friend.id),
    )
    assert referred.referral.patient_id == friend.id


@pytest.mark.parametrize(
    ("actor", "refusal"),
    [
        (ANONYMOUS, Unauthenticated),
        (DOCTOR, Forbidden),
        (patient_actor("p1"), Forbidden),
        (client_actor("patients:read"), Forbidden),
    ],
)
async def test_only_the_desk_and_write_clients_register_patients(
    service: PatientService, world: FakePatients, actor: Any, refusal: type[Exception]
) -> None:
    with pytest.raises(refusal):
        await service.create(actor, changes(**ADA))
    assert world.store.patients == {}
    # A signed-in caller's refusal leaves a denied row (in a unit of work of its own);
    # an anonymous one leaves nothing: anyone can send them, and they reach no data.
    expected = [] if actor is ANONYMOUS else [("create", "denied", "*")]
    assert world.committed_audit() == expected


async def test_a_client_with_the_write_scope_registers_patients(service: PatientService) -> None:
    made = await service.create(client_actor("patients:write"), changes(**ADA))
    assert made.last_name == "Quorrel"


# -- update ---------------------------------------------------------------------------------


async def test_an_update_changes_only_what_is_given_and_times_consent(
    service: PatientService, world: FakePatients, clock: FixedClock
) -> None:
    made = await make(service)
    clock.advance(timedelta(minutes=10))
    later = clock.now().isoformat()
    changed = await service.update(
        FRONT_DESK,
        made.id,
        changes(email="ada.new@example.org", contact_prefs={"email": False, "sms": True}),
    )
    assert changed.email == "ada.new@example.org"
    assert (changed.first_name, changed.notes, changed.address) == (
        "Adaline",
        "prefers mornings",
        made.address,
    )
    assert (changed.version, changed.updated_at) == (2, clock.now())
    assert changed.contact_prefs["email"] == {
        "opt_in": False,
        "consent_at": NOW.isoformat(),  # when it was given stays on record
        "withdrawn_at": later,
    }
    assert changed.contact_prefs["sms"] == {
        "opt_in": True,
        "consent_at": later,
        "withdrawn_at": None,
    }
    assert world.committed_audit()[-1] == ("update", "allowed", made.id)
    cleared = await service.update(FRONT_DESK, made.id, changes(notes=None))
    assert cleared.notes is None
    assert cleared.contact_prefs == changed.contact_prefs  # not mentioned: kept


async def test_restating_a_choice_keeps_its_time(
    service: PatientService, clock: FixedClock
) -> None:
    made = await make(service)
    clock.advance(timedelta(minutes=5))
    again = await service.update(
        FRONT_DESK, made.id, changes(contact_prefs={"email": True, "sms": False})
    )
    assert again.contact_prefs == made.contact_prefs


async def test_an_email_taken_by_another_record_is_refused_on_update(
    service: PatientService, world: FakePatients
) -> None:
    first = await make(service)
    second = await make(service, email="b@example.org", phone="+15125550111")
    with pytest.raises(PatientExists) as refused:
        await service.update(FRONT_DESK, second.id, changes(email=first.email))
    assert refused.value.extra == {"patient_id": first.id}
    assert world.store.patients[second.id] == second
    # Its own email again is no conflict.
    same = await service.update(FRONT_DESK, first.id, changes(email=first.email))
    assert same.version == 2


@pytest.mark.parametrize("field", ["first_name", "last_name"])
async def test_names_are_changed_never_removed(
    service: PatientService, world: FakePatients, field: str
) -> None:
    made = await make(service)
    with pytest.raises(InvalidRequest, match=f"{field} cannot be removed"):
        await service.update(FRONT_DESK, made.id, changes(**{field: None}))
    assert world.store.patients[made.id] == made


async def test_a_patient_changes_their_own_contact_details_but_not_notes_or_referral(
    service: PatientService, world: FakePatients
) -> None:
    made = await make(service)
    me = patient_actor(made.id)
    mine = await service.update(me, made.id, changes(phone="+15125550100"))
    assert mine.phone == "+15125550100"
    for staff_only in ({"notes": "x"}, {"referral": None}):
        with pytest.raises(Forbidden, match="only clinic staff may change"):
            await service.update(me, made.id, changes(**staff_only))
    assert world.store.patients[made.id] == mine


async def test_a_patient_cannot_change_another_record(
    service: PatientService, world: FakePatients
) -> None:
    made = await make(service)
    other = await make(service, email="b@example.org")
    with pytest.raises(PatientNotFound):
        await service.update(patient_actor(other.id), made.id, changes(phone="+15125550100"))
    assert world.store.patients[made.id] == made
    assert world.committed_audit()[-1] == ("update", "denied", made.id)


async def test_a_missing_record_answers_like_an_out_of_scope_one(
    service: PatientService, world: FakePatients
) -> None:
    with pytest.raises(PatientNotFound):
        await service.update(FRONT_DESK, "nobody", changes(phone="+15125550100"))
    assert world.committed_audit() == [("update", "denied", "nobody")]


async def test_a_practitioner_changes_only_their_own_patients(
    service: PatientService, world: FakePatients
) -> None:
    seen = await make(service)
    unseen = await make(service, email="b@example.org")
    world.visit(seen.id, NOW + timedelta(days=1), practitioner="doctor1")
    world.visit(unseen.id, NOW + timedelta(days=1), practitioner="doctor2")
    changed = await service.update(DOCTOR, seen.id, changes(pronouns="they/them"))
    assert changed.pronouns == "they/them"
    # Break-glass is for reading: a stated reason opens nothing for a write.
    glass = replace(DOCTOR, break_glass_reason="covering for doctor2")
    with pytest.raises(PatientNotFound):
        await service.update(glass, unseen.id, changes(pronouns="they/them"))
    assert world.store.patients[unseen.id] == unseen


async def test_a_merged_record_is_not_updated(service: PatientService, world: FakePatients) -> None:
    keep, dup = await make_pair(service)
    await service.merge(FRONT_DESK, dup.id, keep.id)
    with pytest.raises(PatientMerged) as refused:
        await service.update(FRONT_DESK, dup.id, changes(phone="+15125550100"))
    assert refused.value.extra == {"merged_into": keep.id}


# -- merge ----------------------------------------------------------------------------------


async def test_a_merge_moves_everything_onto_the_survivor(
    service: PatientService, world: FakePatients, clock: FixedClock
) -> None:
    keep = await make(
        service,
        phone=None,
        birth_date=None,
        address=None,
        notes=None,
        contact_prefs={"email": True},
    )
    dup = await make(
        service,
        email="dup@example.org",
        phone="+15125550111",
        notes="from the duplicate",
        birth_date=date(1990, 1, 2),
        contact_prefs={"email": False, "sms": True},
    )
    friend = await make(service, email="friend@example.org", referral=Referral("patient", dup.id))
    early, late = NOW - timedelta(days=300), NOW - timedelta(days=30)
    world.visit(keep.id, NOW - timedelta(days=30), booking_id="k1")
    world.visit(dup.id, NOW + timedelta(days=3), booking_id="d1")
    world.visit(dup.id, NOW + timedelta(days=4), booking_id="d2", service="gaps_coaching")
    world.enroll(keep.id, "alternative_medicine", late, status="paused")
    world.enroll(dup.id, "alternative_medicine", early, status="active")
    world.enroll(dup.id, "gaps_coaching", late)
    clock.advance(timedelta(minutes=1))

    survivor = await service.merge(FRONT_DESK, dup.id, keep.id)

    store = world.store
    assert set(store.bookings.values()) == {keep.id}
    assert {v.patient_id for v in store.visits.values()} == {keep.id}
    enrolled = {e.service: e for e in store.enrollments.values()}
    assert {e.patient_id for e in enrolled.values()} == {keep.id}
    assert enrolled["alternative_medicine"].since == early  # the earlier since wins
    assert enrolled["alternative_medicine"].status == "active"  # active if either was
    assert enrolled["gaps_coaching"].since == late
    assert store.patients[friend.id].referral.patient_id == keep.id
    # What the survivor lacked comes from the duplicate; what it had stays.
    assert (survivor.email, survivor.phone) == (keep.email, "+15125550111")
    assert (survivor.notes, survivor.birth_date) == ("from the duplicate", date(1990, 1, 2))
    assert (survivor.address, survivor.sex) == (dup.address, "female")
    assert survivor.contact_prefs["sms"] == dup.contact_prefs["sms"]
    assert survivor.contact_prefs["email"] == keep.contact_prefs["email"]
    assert survivor.version == keep.version + 1
    gone = store.patients[dup.id]
    assert (gone.status, gone.merged_into) == ("merged", keep.id)
    (merge,) = store.merges
    assert (merge.source_id, merge.target_id, merge.actor_id) == (dup.id, keep.id, "desk")
    assert merge.moved == {"bookings": 2, "visits": 2, "enrollments": 2, "referrals": 1}
    assert world.committed_audit()[-2:] == [
        ("merge", "allowed", dup.id),
        ("merge", "allowed", keep.id),
    ]


async def test_the_survivor_keeps_its_own_consent_and_takes_a_legal_hold(
    service: PatientService, world: FakePatients
) -> None:
    keep, dup = await make_pair(service, contact_prefs={"email": False})
    await service.set_legal_hold(ADMIN, dup.id, True, "litigation")
    survivor = await service.merge(FRONT_DESK, dup.id, keep.id)
    assert survivor.contact_prefs["email"]["opt_in"] is True
    assert survivor.legal_hold is True


async def test_a_merged_record_is_found_by_its_email_no_more(
    service: PatientService, world: FakePatients
) -> None:
    keep = await make(service, email=None)
    dup = await make(service, email="dup@example.org", phone="+15125550111")
    survivor = await service.merge(FRONT_DESK, dup.id, keep.id)
    assert survivor.email == "dup@example.org"  # the survivor took it over
    async with world.uow.reading() as uow:
        assert [p.id for p in await uow.patients.find(email="dup@example.org")] == [keep.id]
        assert [p.id for p in await uow.patients.find(phone="+15125550111")] == []


async def test_a_record_is_not_merged_into_itself_nor_twice(
    service: PatientService, world: FakePatients
) -> None:
    keep, dup = await make_pair(service)
    with pytest.raises(InvalidRequest, match="cannot be merged into itself"):
        await service.merge(FRONT_DESK, keep.id, keep.id)
    await service.merge(FRONT_DESK, dup.id, keep.id)
    before = copy.deepcopy(world.store)
    for source, target in ((dup.id, keep.id), (keep.id, dup.id)):
        with pytest.raises(PatientMerged):
            await service.merge(FRONT_DESK, source, target)
    assert world.store.patients == before.patients
    assert world.store.merges == before.merges


async def test_records_with_overlapping_visits_are_not_merged_and_nothing_moves(
    service: PatientService, world: FakePatients
) -> None:
    keep, dup = await make_pair(service)
    world.visit(dup.id, NOW + timedelta(days=1), booking_id="d1")
    world.store.overlapping.add(frozenset((keep.id, dup.id)))
    before = copy.deepcopy(world.store)
    audited = list(world.ledger.audited)
    with pytest.raises(MergeConflict):
        await service.merge(FRONT_DESK, dup.id, keep.id)
    assert world.store.patients == before.patients
    assert world.store.bookings == before.bookings
    assert world.store.merges == []
    assert world.ledger.audited == audited  # rolled back: no merge row, no audit


@pytest.mark.parametrize("actor", [DOCTOR, client_actor("patients:write")])
async def test_only_the_desk_and_admins_merge(
    service: PatientService, world: FakePatients, actor: Any
) -> None:
    keep, dup = await make_pair(service)
    with pytest.raises(Forbidden):
        await service.merge(actor, dup.id, keep.id)
    assert world.store.patients[dup.id].status == "active"
    assert world.committed_audit()[-1] == ("merge", "denied", dup.id)


async def test_merging_a_missing_record_answers_not_found(
    service: PatientService, world: FakePatients
) -> None:
    keep = await make(service)
    with pytest.raises(PatientNotFound):
        await service.merge(FRONT_DESK, "nobody", keep.id)
    assert world.committed_audit()[-1] == ("merge", "denied", "nobody")
    assert world.store.merges == []


# -- legal hold -----------------------------------------------------------------------------


async def test_only_an_admin_sets_a_legal_hold_and_the_reason_is_audited(
    service: PatientService, world: FakePatients
) -> None:
    made = await make(service)
    with pytest.raises(Forbidden):
        await service.set_legal_hold(FRONT_DESK, made.id, True, "litigation matter 42")
    assert world.store.patients[made.id].legal_hold is False
    held = await service.set_legal_hold(ADMIN, made.id, True, "litigation matter 42")
    assert (held.legal_hold, held.version) == (True, made.version + 1)
    entry, _ = world.ledger.audited[-1]
    assert (entry.action, entry.reason, entry.actor_id) == (
        "legal_hold_on",
        "litigation matter 42",
        "boss",
    )
    lifted = await service.set_legal_hold(ADMIN, made.id, False, "settled")
    assert lifted.legal_hold is False
    assert world.ledger.audited[-1][0].action == "legal_hold_off"
