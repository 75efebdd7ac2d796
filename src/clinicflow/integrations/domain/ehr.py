"""The EHR's side of a patient, and the rules that keep it in step with ours.

Both sides are compared as FHIR demographics (given and family name, birth date, FHIR
`gender`, email, phone), the fields the EHR's search and clinicflow's record share. What
was agreed at the last sync is kept as a keyed digest of those values (never the values),
so a later change can be told apart: ours alone, theirs alone, or both ("a conflict").
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass
from datetime import date

FIELDS = ("given", "family", "birth_date", "gender", "email", "phone")

# clinicflow's `sex` against FHIR's administrative gender (female | male | other | unknown).
_GENDER_OF_SEX = {
    "female": "female",
    "male": "male",
    "intersex": "other",
    "other": "other",
    "undisclosed": "unknown",
}
_SEX_OF_GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "undisclosed"}


def fhir_gender(sex: str | None) -> str | None:
    return None if sex is None else _GENDER_OF_SEX.get(sex)


def sex_of(gender: str | None) -> str | None:
    return None if gender is None else _SEX_OF_GENDER.get(gender)


@dataclass(frozen=True, slots=True)
class Demographics:
    """A patient as both systems know them; email lower-cased, phone E.164 where parsable."""

    given: str | None
    family: str | None
    birth_date: date | None
    gender: str | None  # FHIR administrative gender
    email: str | None
    phone: str | None

    def canonical(self) -> str:
        """One text for the digest: the same values give the same text."""
        values = asdict(self)
        values["birth_date"] = self.birth_date.isoformat() if self.birth_date else None
        for name in ("given", "family"):
            text = values[name]
            values[name] = " ".join(text.split()).casefold() if text else None
        return json.dumps(values, sort_keys=True)

    def differing(self, other: Demographics) -> list[str]:
        """The fields whose values differ (names compared without case or extra spaces)."""
        mine, theirs = json.loads(self.canonical()), json.loads(other.canonical())
        return [name for name in FIELDS if mine[name] != theirs[name]]


@dataclass(frozen=True, slots=True)
class RemotePatient:
    id: str
    version: str | None
    demographics: Demographics
    identifiers: frozenset[tuple[str, str]] = frozenset()  # (system, value)


def same_person(ours: Demographics, theirs: Demographics) -> bool:
    """A candidate the EHR's search gave is our patient when the names agree, nothing known
    on both sides contradicts (birth date), and at least one of birth date, email or phone
    agrees: a shared name alone is not a person."""
    mine, other = json.loads(ours.canonical()), json.loads(theirs.canonical())
    if not mine["family"] or mine["family"] != other["family"] or mine["given"] != other["given"]:
        return False
    if mine["birth_date"] and other["birth_date"] and mine["birth_date"] != other["birth_date"]:
        return False
    return any(mine[k] and mine[k] == other[k] for k in ("birth_date", "email", "phone"))


class Verdict(enum.Enum):
    IN_STEP = "in_step"  # both sides hold the same values: record them as synced
    OURS_ONLY = "ours_only"  # only clinicflow changed: nothing comes from the EHR
    APPLY = "apply"  # only the EHR changed: its values are written to our record
    CONFLICT = "conflict"  # both changed, differently: listed for staff, nothing written


def reconcile(synced: str, ours: str, theirs: str, *, same_values: bool) -> Verdict:
    """`synced`, `ours`, `theirs`: digests of the values agreed at the last sync, of ours
    now and of the EHR's now."""
    if same_values:
        return Verdict.IN_STEP
    if theirs == synced:
        return Verdict.OURS_ONLY
    if ours != synced:
        return Verdict.CONFLICT
    return Verdict.APPLY


def as_seen_by(theirs: Demographics, ours: Demographics) -> Demographics:
    """The EHR's values where it has one, ours where it has none: a field the EHR leaves
    empty is never cleared from our record."""
    return Demographics(
        given=theirs.given if theirs.given is not None else ours.given,
        family=theirs.family if theirs.family is not None else ours.family,
        birth_date=theirs.birth_date if theirs.birth_date is not None else ours.birth_date,
        gender=theirs.gender if theirs.gender is not None else ours.gender,
        email=theirs.email if theirs.email is not None else ours.email,
        phone=theirs.phone if theirs.phone is not None else ours.phone,
    )
