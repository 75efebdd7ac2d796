"""De-identifying idle records (patients' retention job) on in-memory units of work: the
rule (`domain.retention.idle`), what is cleared and kept, the audit row and the event per
record, batches, and legal holds. The same rule in SQL is tested on both databases in
tests/integration/retention/."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.patients.domain import retention as rule
from clinicflow.patients.domain.patient import (
    Address,
    Patient,
    Referral,
)
from clinicflow.patients.domain.visit import Visit
from clinicflow.patients.jobs import PatientRetention
from support.fake_patients import NOW, FakePatients

POLICY = RetentionPolicy()  # 7 years after the last visit: cutoff 2019-11-24 15:00
OLD = datetime(2015, 1, 1, tzinfo=UTC)


def patient(pid: str, created: datetime = OLD, **extra: object) -> Patient:
    made = Patient(
        id=pid,
        first_name="Pat",
        last_name="Example",
        email=f"{pid}@example.org",
        phone="+15125550142",
        birth_date=None,
        sex="female",
        pronouns="she/her",
        address=Address("1 Main St", "Austin", "TX", "78701"),
        notes="a note",
        contact_prefs={"email": {"opt_in": True}},
        referral=Referral("patient", "p-referrer"),
        status="active",
        merged_into=None,
        legal_hold=False,
        version=1,
        created_at=created,
        updated_at=created,
    )
    return replace(made, **extra)  # type: ignore[arg-type]


@pytest.fixture
def world() -> FakePatients:
    world = FakePatients()
    for made in (
        patient("p-never"),  # registered long ago, never came
        patient("p-old"),
        patient("p-noshow"),
        patient("p-recent"),
        patient("p-upcoming"),
        patient("p-new", created=NOW - timedelta(days=30)),
        patient("p-hold", legal_hold=True),
        patient("p-gone", status="deidentified"),
    ):
        world.store.patients[made.id] = made
    world.visit("p-old", datetime(2018, 5, 1, tzinfo=UTC), status="completed")
    world.visit("p-noshow", datetime(2018, 5, 1, tzinfo=UTC), status="no_show")
    world.visit("p-recent", datetime(2018, 5, 1, tzinfo=UTC), status="completed")
    world.visit("p-recent", datetime(2024, 5, 1, tzinfo=UTC), status="completed")
    world.visit("p-upcoming", datetime(2018, 5, 1, tzinfo=UTC), status="completed")
    world.visit("p-upcoming", NOW + timedelta(days=3), status="confirmed")
    return world


@pytest.fixture
def job(world: FakePatients) -> PatientRetention:
    return PatientRetention(uow=world.uow)


async def test_what_is_due_and_what_a_legal_hold_spares(job: PatientRetention) -> None:
    due = await job.due(POLICY, NOW)
    assert due.due == ["p-never", "p-noshow", "p-old"]
    assert due.spared_legal_hold == ["p-hold"]


async def test_de_identification_clears_phi_keeps_the_rest_and_tells_why(
    job: PatientRetention, world: FakePatients
) -> None:
    done = await job.deidentify_all(POLICY, NOW)
    assert done == ["p-never", "p-noshow", "p-old"]
    for pid in done:
        gone = world.store.patients[pid]
        assert (gone.first_name, gone.last_name, gone.email, gone.phone) == (None,) * 4
        assert (gone.address, gone.notes, gone.contact_prefs) == (None, None, {})
        assert (gone.status, gone.version) == ("deidentified", 2)
        # Ids, referral pointers, sex and pronouns stay: analytics still add up.
        assert (gone.sex, gone.pronouns, gone.referral.patient_id) == (
            "female",
            "she/her",
            "p-referrer",
        )
    assert [v.patient_id for v in world.store.visits.values()].count("p-old") == 1  # history kept
    assert world.store.patients["p-hold"].first_name == "Pat"
    assert world.committed_audit() == [("deidentify", "allowed", pid) for pid in done]
    entry, at = world.ledger.audited[0]
    assert (entry.actor_type, entry.actor_id, entry.patient_id, at) == (
        "system",
        "retention",
        "p-never",
        NOW,
    )
    assert world.ledger.types() == ["patient.deidentified"] * 3
    assert [e.payload for e in world.ledger.published] == [{"patient_id": p} for p in done]
    assert await job.deidentify_all(POLICY, NOW) == []  # a second run finds nothing


async def test_records_go_in_batches_each_its_own_unit_of_work(
    job: PatientRetention, world: FakePatients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rule, "BATCH", 2)
    first = await job.deidentify_batch(POLICY, NOW, limit=2)
    assert (first.deidentified, first.next_after) == (["p-never", "p-noshow"], "p-noshow")
    last = await job.deidentify_batch(POLICY, NOW, after="p-noshow", limit=2)
    assert (last.deidentified, last.next_after) == (["p-old"], None)  # short: the last one
    assert world.ledger.commits == 2
    assert await job.deidentify_all(POLICY, NOW) == []
    assert world.ledger.commits == 3  # one empty batch


def visit(status: str, start: datetime) -> Visit:
    return Visit("b", "p", "alternative_medicine", "initial", "doctor1", status, start, start)


@pytest.mark.parametrize(
    ("created", "visits", "due"),
    [
        (OLD, [], True),  # never came, registered before the cutoff
        (NOW - timedelta(days=1), [], False),  # registered lately
        (OLD, [visit("completed", datetime(2018, 1, 1, tzinfo=UTC))], True),
        (OLD, [visit("checked_in", datetime(2018, 1, 1, tzinfo=UTC))], True),
        (OLD, [visit("no_show", datetime(2020, 1, 1, tzinfo=UTC))], False),  # after the cutoff
        # A cancelled visit is no contact: the registration date decides.
        (NOW - timedelta(days=1), [visit("cancelled", datetime(2018, 1, 1, tzinfo=UTC))], False),
        (OLD, [visit("held", NOW + timedelta(days=1))], False),  # booked ahead
        (OLD, [visit("confirmed", NOW - timedelta(days=1))], True),  # ahead no more, no contact
    ],
)
def test_the_idle_rule(created: datetime, visits: list[Visit], due: bool) -> None:
    assert rule.idle("active", created, visits, POLICY, NOW) is due


def test_a_de_identified_record_is_never_due_again() -> None:
    assert rule.idle("deidentified", OLD, [], POLICY, NOW) is False
