"""The patient record's write use cases on in-memory units of work (records made by
support/patient_records.py): merging duplicate records: everything moves onto the survivor,
which keeps its own consent and takes a legal hold; a merged record is found by its email no
more; what is refused (itself, twice, overlapping visits, other roles, a missing record) moves
nothing. The SQL behind them (unique email index, sealing, merges across tables) is tested
against both databases in tests/integration/test_patients_api.py.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest

from clinicflow.patients.domain.patient import Referral
from clinicflow.patients.errors import MergeConflict, PatientMerged, PatientNotFound
from clinicflow.patients.records.service import PatientService
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, InvalidRequest
from support.fake_patients import ADMIN, DOCTOR, FRONT_DESK, NOW, FakePatients, client_actor
from support.patient_records import make, make_pair

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
