"""The patient record's write use cases on in-memory units of work (records made by
support/patient_records.py): creating a record: what it accepts and refuses (names, a way to
reach them, one record per email, referrals), who may register patients, what it audits, and
that a refusal leaves nothing. The SQL behind them (unique email index, sealing, merges across
tables) is tested against both databases in tests/integration/test_patients_api.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from clinicflow.patients.domain.patient import Referral
from clinicflow.patients.errors import PatientExists
from clinicflow.patients.records.service import PatientService
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.errors import Forbidden, InvalidRequest, Unauthenticated
from support.fake_patients import DOCTOR, NOW, FakePatients, client_actor, patient_actor
from support.patient_records import ADA, changes, make

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
