"""STOP and START texted back to the clinic's number (notifications' ConsentRegistry), on
in-memory units of work. The SQL (the phone's blind index, the row locks) is exercised by
tests/integration/provider_webhooks/."""

from __future__ import annotations

from datetime import timedelta

from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.contacts.service import SmsConsent
from clinicflow.patients.domain.patient import Patient, PatientFields
from clinicflow.patients.records.service import PatientService
from support.fake_patients import FRONT_DESK, NOW, FakePatients

PHONE = "+15125550142"


async def make(service: PatientService, n: int, sms: bool | None, phone: str = PHONE) -> Patient:
    fields = PatientFields(
        first_name=f"Pat{n}", last_name="Example", email=f"pat{n}@example.org", phone=phone
    )
    if sms is not None:
        fields["contact_prefs"] = {"sms": sms}
    return await service.create(FRONT_DESK, PatientChanges(fields))


async def test_stop_withdraws_texts_from_everyone_with_the_number(
    service: PatientService, sms: SmsConsent, world: FakePatients
) -> None:
    one, two = await make(service, 1, True), await make(service, 2, True)
    other = await make(service, 3, True, phone="+15125550199")
    at = NOW + timedelta(hours=1)
    assert await sms.withdraw_sms("(512) 555-0142", at) == 2  # normalized first
    for made in (one, two):
        now = world.store.patients[made.id]
        assert now.contact_prefs["sms"] == {
            "opt_in": False,
            "consent_at": NOW.isoformat(),
            "withdrawn_at": at.isoformat(),
        }
        assert (now.version, now.updated_at) == (made.version + 1, at)
    assert world.store.patients[other.id] == other
    assert world.committed_audit()[-2:] == [  # in id order: the order their rows lock in
        ("sms_opt_out", "allowed", pid) for pid in sorted((one.id, two.id))
    ]
    entry, _ = world.ledger.audited[-1]
    assert (entry.actor_type, entry.reason) == ("system", "STOP texted from the patient's number")


async def test_a_repeated_stop_changes_nothing_not_even_the_time(
    service: PatientService, sms: SmsConsent, world: FakePatients
) -> None:
    made = await make(service, 1, True)
    await sms.withdraw_sms(PHONE, NOW + timedelta(hours=1))
    once = world.store.patients[made.id]
    assert await sms.withdraw_sms(PHONE, NOW + timedelta(hours=2)) == 0
    assert world.store.patients[made.id] == once
    # Found by the number is an access all the same.
    assert world.committed_audit()[-1] == ("sms_opt_out", "allowed", made.id)


async def test_start_restores_only_consent_that_was_given_and_withdrawn(
    service: PatientService, sms: SmsConsent, world: FakePatients
) -> None:
    withdrawn = await make(service, 1, True)
    never = await make(service, 2, None)
    declined = await make(service, 3, False)
    await sms.withdraw_sms(PHONE, NOW + timedelta(hours=1))
    at = NOW + timedelta(hours=2)
    assert await sms.restore_sms(PHONE, at) == 1
    assert world.store.patients[withdrawn.id].contact_prefs["sms"] == {
        "opt_in": True,
        "consent_at": at.isoformat(),
        "withdrawn_at": None,
    }
    # STOP recorded their refusal; START does not turn it into consent they never gave.
    assert world.store.patients[never.id].contact_prefs["sms"]["opt_in"] is False
    assert world.store.patients[never.id].contact_prefs["sms"]["consent_at"] is None
    assert world.store.patients[declined.id].contact_prefs["sms"]["opt_in"] is False
    assert [a for a, _, _ in world.committed_audit()[-3:]] == ["sms_opt_in"] * 3
    assert world.ledger.audited[-1][0].reason == "START texted from the patient's number"


async def test_a_sender_that_is_no_phone_number_changes_nothing(
    sms: SmsConsent, world: FakePatients
) -> None:
    assert await sms.withdraw_sms("ACME", NOW) == 0
    assert await sms.withdraw_sms("12345", NOW) == 0  # a short code
    assert world.opened == []  # not even a transaction


async def test_a_number_nobody_has_changes_nothing_and_records_nothing(
    service: PatientService, sms: SmsConsent, world: FakePatients
) -> None:
    await make(service, 1, True)
    audited = len(world.ledger.audited)
    assert await sms.withdraw_sms("+15125550100", NOW) == 0
    assert len(world.ledger.audited) == audited
