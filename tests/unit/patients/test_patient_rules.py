"""The patients context's pure rules: who may do what (domain/access.py), consent timing and
texted STOP/START (domain/consent.py), what a merge takes over (domain/merge.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from clinicflow.patients.domain.access import Need, in_scope, role_may, sees_all
from clinicflow.patients.domain.consent import texted, timed
from clinicflow.patients.domain.merge import combined, enrollments_after, gaps
from clinicflow.patients.domain.patient import Address, Patient, Referral
from clinicflow.patients.domain.visit import Enrollment
from clinicflow.shared.actor import Actor, Role
from support.fake_patients import (
    ADMIN,
    ANALYST,
    BILLING,
    DOCTOR,
    FRONT_DESK,
    client_actor,
    patient_actor,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# need → who may ever ask (before any record is looked at)
MAY = {
    Need.READ: {"admin", "front_desk", "billing", "practitioner", "patient", "read", "write"},
    Need.RECORD: {"admin", "front_desk", "practitioner", "patient", "read"},
    Need.WRITE: {"admin", "front_desk", "practitioner", "patient", "write"},
    Need.CREATE: {"admin", "front_desk", "write"},
    Need.SEARCH: {"admin", "front_desk", "billing", "practitioner", "read"},
    Need.MERGE: {"admin", "front_desk"},
    Need.LEGAL_HOLD: {"admin"},
}
ACTORS: dict[str, Actor] = {
    "admin": ADMIN,
    "front_desk": FRONT_DESK,
    "billing": BILLING,
    "practitioner": DOCTOR,
    "patient": patient_actor("p1"),
    "analyst": ANALYST,
    "read": client_actor("patients:read"),
    "write": client_actor("patients:write"),
}
MAY[Need.READ] -= {"write"}  # a client's write scope does not read


@pytest.mark.parametrize("need", list(Need))
def test_the_role_table(need: Need) -> None:
    allowed = {name for name, actor in ACTORS.items() if role_may(actor, need)}
    assert allowed == MAY[need]


def test_whose_records_are_in_scope() -> None:
    assert in_scope(FRONT_DESK, Need.WRITE, "p1", False)
    assert in_scope(patient_actor("p1"), Need.READ, "p1", False)
    assert not in_scope(patient_actor("p1"), Need.READ, "p2", False)
    assert in_scope(DOCTOR, Need.RECORD, "p1", True)
    assert not in_scope(DOCTOR, Need.RECORD, "p1", False)
    assert not in_scope(BILLING, Need.RECORD, "p1", True)
    assert sees_all(client_actor("patients:read"), Need.SEARCH)
    assert not sees_all(DOCTOR, Need.SEARCH)
    assert not sees_all(Actor(kind="user", id="x", role=Role.ANALYST), Need.READ)


def test_consent_is_timed_per_channel() -> None:
    given = timed({}, {"email": True, "sms": False}, T0)
    assert given == {
        "email": {"opt_in": True, "consent_at": T0.isoformat(), "withdrawn_at": None},
        "sms": {"opt_in": False, "consent_at": None, "withdrawn_at": T0.isoformat()},
    }
    later = T0 + timedelta(days=1)
    changed = timed(given, {"email": False}, later)
    assert changed["email"] == {
        "opt_in": False,
        "consent_at": T0.isoformat(),
        "withdrawn_at": later.isoformat(),
    }
    assert changed["sms"] == given["sms"]  # not mentioned: kept
    assert timed(given, {"email": True, "sms": False}, later) == given  # re-stated: same times
    assert given["email"]["opt_in"] is True  # the input is not changed


def test_a_texted_stop_and_start() -> None:
    agreed = timed({}, {"sms": True}, T0)
    stopped = texted(agreed, False, T0 + timedelta(hours=1))
    assert stopped is not None
    assert stopped["sms"]["opt_in"] is False
    assert texted(stopped, False, T0 + timedelta(hours=2)) is None  # already so
    restarted = texted(stopped, True, T0 + timedelta(hours=3))
    assert restarted is not None
    assert restarted["sms"]["opt_in"] is True
    assert texted({}, True, T0) is None  # never agreed: START does not opt in
    assert texted(timed({}, {"sms": False}, T0), True, T0) is None  # declined, never agreed
    assert texted(agreed, True, T0) is None  # agreed already


def record(pid: str, **values: object) -> Patient:
    fields: dict[str, object] = dict.fromkeys(
        ("first_name", "last_name", "email", "phone", "birth_date", "sex", "pronouns"),
    )
    fields |= {"address": None, "notes": None, "merged_into": None, "contact_prefs": {}}
    fields |= {"referral": Referral(), "status": "active", "legal_hold": False, "version": 1}
    fields |= {"created_at": T0, "updated_at": T0}
    return Patient(id=pid, **(fields | values))  # type: ignore[arg-type]


def test_a_merge_fills_only_what_the_survivor_lacks() -> None:
    home = Address("1 Main St", "Austin", "TX", "78701")
    source = record(
        "dup",
        email="dup@example.org",
        phone="+15125550111",
        birth_date=date(1990, 1, 2),
        address=home,
        sex="male",
        referral=Referral("patient", "p9", None, "fair"),
    )
    target = record("keep", email="keep@example.org", sex="female", referral=Referral("campaign"))
    assert gaps(source, target) == {
        "phone": "+15125550111",
        "birth_date": date(1990, 1, 2),
        "address": home,
        "referral": Referral("campaign", "p9", None, "fair"),
    }
    assert gaps(source, source) == {}


def test_enrollments_in_one_service_become_one() -> None:
    mine = Enrollment("keep", "gaps", T0, "paused", T0)
    theirs = Enrollment("dup", "gaps", T0 - timedelta(days=9), "active", T0 + timedelta(days=1))
    both = combined(theirs, mine)
    assert (both.patient_id, both.since, both.status, both.updated_at) == (
        "keep",
        theirs.since,
        "active",
        theirs.updated_at,
    )
    paused = combined(Enrollment("dup", "gaps", T0, "completed", T0), mine)
    assert paused.status == "paused"  # neither active: the survivor's stands
    only = Enrollment("dup", "other", T0, "withdrawn", T0)
    assert enrollments_after([theirs, only], [mine], "keep") == [
        both,
        Enrollment("keep", "other", T0, "withdrawn", T0),
    ]
