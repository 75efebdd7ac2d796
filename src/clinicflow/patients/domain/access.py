"""Who may do what with a patient's record. As for bookings: the role is checked first
(403, or 401 when anonymous, before any lookup), then the record's scope (404 unless staff
open it by break-glass, which applies to reads only).

| need        | all records                  | own records only      | API client scope   |
|-------------|------------------------------|-----------------------|--------------------|
| read        | admin, front desk, billing   | practitioner, patient | patients:read      |
| record      | admin, front desk            | practitioner, patient | patients:read      |
| write       | admin, front desk            | practitioner, patient | patients:write     |
| create      | admin, front desk            | —                     | patients:write     |
| search      | admin, front desk, billing   | practitioner (own)    | patients:read      |
| merge       | admin, front desk            | —                     | —                  |
| legal hold  | admin                        | —                     | —                  |

Billing reads profiles (names and addresses go on receipts) but not visit records. A
practitioner's own patients are those with a visit on their calendar. Analysts see no
record: their view is de-identified aggregates.
"""

from __future__ import annotations

from enum import Enum

from clinicflow.shared.actor import Actor, Role, Scope


class Need(Enum):
    READ = "read"
    RECORD = "read_record"
    WRITE = "update"
    CREATE = "create"
    SEARCH = "search"
    MERGE = "merge"
    LEGAL_HOLD = "legal_hold"


_ALL: dict[Need, set[Role]] = {
    Need.READ: {Role.ADMIN, Role.FRONT_DESK, Role.BILLING},
    Need.RECORD: {Role.ADMIN, Role.FRONT_DESK},
    Need.WRITE: {Role.ADMIN, Role.FRONT_DESK},
    Need.CREATE: {Role.ADMIN, Role.FRONT_DESK},
    Need.SEARCH: {Role.ADMIN, Role.FRONT_DESK, Role.BILLING},
    Need.MERGE: {Role.ADMIN, Role.FRONT_DESK},
    Need.LEGAL_HOLD: {Role.ADMIN},
}
_OWN: dict[Need, set[Role]] = {
    Need.READ: {Role.PRACTITIONER, Role.PATIENT},
    Need.RECORD: {Role.PRACTITIONER, Role.PATIENT},
    Need.WRITE: {Role.PRACTITIONER, Role.PATIENT},
    Need.SEARCH: {Role.PRACTITIONER},
}
_CLIENT: dict[Need, Scope] = {
    Need.READ: Scope.PATIENTS_READ,
    Need.RECORD: Scope.PATIENTS_READ,
    Need.SEARCH: Scope.PATIENTS_READ,
    Need.WRITE: Scope.PATIENTS_WRITE,
    Need.CREATE: Scope.PATIENTS_WRITE,
}
# Fields only staff may change: a patient edits their own contact details, not clinical
# notes, referral attribution or legal status.
STAFF_ONLY_FIELDS = frozenset({"notes", "referral"})


def role_may(actor: Actor, need: Need) -> bool:
    if actor.kind == "client":
        scope = _CLIENT.get(need)
        return scope is not None and actor.has_scope(scope)
    return actor.role in _ALL.get(need, set()) or actor.role in _OWN.get(need, set())


def sees_all(actor: Actor, need: Need) -> bool:
    return (actor.kind == "client" and role_may(actor, need)) or actor.role in _ALL.get(need, set())


def in_scope(actor: Actor, need: Need, patient_id: str, practitioner_patients: bool) -> bool:
    """`practitioner_patients`: whether the patient has a visit on the actor's calendar."""
    if sees_all(actor, need):
        return True
    if actor.role is Role.PATIENT:
        return actor.patient_id == patient_id
    if actor.role is Role.PRACTITIONER:
        return practitioner_patients
    return False
