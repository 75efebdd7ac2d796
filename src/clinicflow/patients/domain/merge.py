"""Merging a duplicate record into the one that survives: what the survivor takes over.

Everything that points at the duplicate moves (bookings, visit history, enrollments,
referrals; the use case does that). Contact details and demographics the survivor lacks are
copied over from the duplicate; consent per channel is the survivor's where it has stated
one; a legal hold on either holds the survivor. Enrollments in the same service become one:
the earlier `since` wins, and it is active if either was.
"""

from __future__ import annotations

from dataclasses import fields, replace

from clinicflow.patients.domain.patient import Patient, PatientFields, Prefs, Referral
from clinicflow.patients.domain.visit import Enrollment


def gaps(source: Patient, target: Patient) -> PatientFields:
    """What the survivor (`target`) lacks and the duplicate (`source`) has."""
    filled = PatientFields()
    if target.email is None and source.email is not None:
        filled["email"] = source.email
    if target.phone is None and source.phone is not None:
        filled["phone"] = source.phone
    if target.birth_date is None and source.birth_date is not None:
        filled["birth_date"] = source.birth_date
    if target.address is None and source.address is not None:
        filled["address"] = source.address
    if target.notes is None and source.notes is not None:
        filled["notes"] = source.notes
    if target.sex is None and source.sex is not None:
        filled["sex"] = source.sex
    if target.pronouns is None and source.pronouns is not None:
        filled["pronouns"] = source.pronouns
    referral = _referral(source.referral, target.referral)
    if referral != target.referral:
        filled["referral"] = referral
    return filled


def _referral(source: Referral, target: Referral) -> Referral:
    # Field by field: the survivor keeps what it has and takes what only the duplicate has.
    taken = {
        f.name: getattr(source, f.name)
        for f in fields(Referral)
        if getattr(target, f.name) is None and getattr(source, f.name) is not None
    }
    return replace(target, **taken)


def merged_prefs(source: Patient, target: Patient) -> Prefs:
    return {**source.contact_prefs, **target.contact_prefs}


def combined(theirs: Enrollment, mine: Enrollment) -> Enrollment:
    """The duplicate's enrollment (`theirs`) and the survivor's (`mine`) in one service."""
    return replace(
        mine,
        since=min(theirs.since, mine.since),
        status="active" if "active" in (theirs.status, mine.status) else mine.status,
        updated_at=max(theirs.updated_at, mine.updated_at),
    )


def enrollments_after(
    theirs: list[Enrollment], mine: list[Enrollment], target_id: str
) -> list[Enrollment]:
    """The survivor's enrollments in the services the duplicate was enrolled in."""
    kept = {e.service: e for e in mine}
    return [
        combined(e, kept[e.service]) if e.service in kept else replace(e, patient_id=target_id)
        for e in theirs
    ]
