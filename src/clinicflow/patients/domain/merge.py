"""Merging a duplicate record into the one that survives: what the survivor takes over.

Everything that points at the duplicate moves (bookings, visit history, enrollments,
referrals; the use case does that). Contact details and demographics the survivor lacks are
copied over from the duplicate; consent per channel is the survivor's where it has stated
one; a legal hold on either holds the survivor. Enrollments in the same service become one:
the earlier `since` wins, and it is active if either was.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import cast

from clinicflow.patients.domain.patient import Patient, PatientFields, Prefs, Referral
from clinicflow.patients.domain.visit import Enrollment

# The details the survivor takes from the duplicate where it has none of its own.
_TAKEN = ("email", "phone", "birth_date", "address", "notes", "sex", "pronouns")


def gaps(source: Patient, target: Patient) -> PatientFields:
    """What the survivor (`target`) lacks and the duplicate (`source`) has."""
    taken = {
        name: getattr(source, name)
        for name in _TAKEN
        if getattr(target, name) is None and getattr(source, name) is not None
    }
    filled = cast(PatientFields, taken)  # only PatientFields' own keys, with their own values
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
