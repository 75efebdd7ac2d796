"""The patient record's write use cases on in-memory units of work (records made by
support/patient_records.py): updating a record: only what is given changes, consent timed,
emails unique, names never removed, who may change which record; and the legal hold, set by an
admin alone with its reason audited. The SQL behind them (unique email index, sealing, merges
across tables) is tested against both databases in tests/integration/test_patients_api.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from clinicflow.patients.errors import PatientExists, PatientMerged, PatientNotFound
from clinicflow.patients.records.service import PatientService
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, InvalidRequest
from support.fake_patients import ADMIN, DOCTOR, FRONT_DESK, NOW, FakePatients, patient_actor
from support.patient_records import changes, make, make_pair

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
