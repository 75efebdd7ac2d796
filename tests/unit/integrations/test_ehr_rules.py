"""The EHR sync's pure rules: who in the EHR's search is our patient, what a change on
either side means, and what a CRM may receive."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from clinicflow.integrations.domain.crm import CrmContact, MarketingCandidate, contact_of
from clinicflow.integrations.domain.ehr import (
    Demographics,
    Verdict,
    as_seen_by,
    fhir_gender,
    reconcile,
    same_person,
    sex_of,
)

PAT = Demographics("Pat", "Example", None, None, "pat@example.com", "+15125550001")


def test_a_namesake_is_not_our_patient_without_something_else_in_common() -> None:
    namesake = Demographics("pat", "EXAMPLE", None, None, None, None)
    assert not same_person(PAT, namesake)
    assert same_person(PAT, replace(namesake, email="pat@example.com"))
    assert same_person(PAT, replace(namesake, phone="+15125550001"))


def test_a_different_birth_date_is_another_person_whatever_else_agrees() -> None:
    ours = replace(PAT, birth_date=date(1980, 1, 2))
    assert same_person(ours, replace(ours, given="  PAT "))
    assert not same_person(ours, replace(ours, birth_date=date(1980, 2, 1)))


@pytest.mark.parametrize(
    ("synced", "ours", "theirs", "same", "verdict"),
    [
        ("a", "a", "a", True, Verdict.IN_STEP),
        ("a", "b", "b", True, Verdict.IN_STEP),  # both made the same change
        ("a", "a", "b", False, Verdict.APPLY),
        ("a", "b", "a", False, Verdict.OURS_ONLY),
        ("a", "b", "c", False, Verdict.CONFLICT),
    ],
)
def test_reconcile_tells_whose_change_it_is(
    synced: str, ours: str, theirs: str, same: bool, verdict: Verdict
) -> None:
    assert reconcile(synced, ours, theirs, same_values=same) is verdict


def test_a_field_the_ehr_leaves_empty_is_never_cleared_from_ours() -> None:
    theirs = Demographics("Pat", "Example", date(1990, 5, 6), "female", None, None)
    seen = as_seen_by(theirs, PAT)
    assert seen.email == PAT.email
    assert seen.phone == PAT.phone
    assert PAT.differing(seen) == ["birth_date", "gender"]


def test_sex_and_fhir_gender_round_trip_where_fhir_can_say_it() -> None:
    assert [fhir_gender(s) for s in ("female", "male", "intersex", "undisclosed", None)] == [
        "female",
        "male",
        "other",
        "unknown",
        None,
    ]
    assert sex_of("unknown") == "undisclosed"
    assert sex_of("nonsense") is None


def test_only_a_patient_who_opted_in_to_marketing_and_has_an_email_is_a_contact() -> None:
    assert contact_of(None) is None
    assert contact_of(MarketingCandidate("a@example.com", "A", "B", False)) is None
    assert contact_of(MarketingCandidate(None, "A", "B", True)) is None
    sent = contact_of(MarketingCandidate("a@example.com", "A", "B", True))
    assert sent == CrmContact("a@example.com", "A", "B")
