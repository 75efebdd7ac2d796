"""Who may read or change a booking. Two questions, asked in this order:

1. May this caller's role ever do it? If not: 403 (401 for anonymous), before any lookup,
   so the answer says nothing about whether the booking exists.
2. Is this booking within the caller's scope (their own visit, their own schedule)? If not,
   the handler answers 404, unless staff open it by break-glass (reads only).
"""

from __future__ import annotations

from enum import Enum

from clinicflow.shared.actor import Actor, Role, Scope


class Need(Enum):
    READ = "read"
    CHANGE = "change"  # reschedule, cancel
    ATTEND = "attend"  # check in, complete, mark no-show: the clinic's side of a visit


_ALL = {
    Need.READ: {Role.ADMIN, Role.FRONT_DESK, Role.BILLING},
    Need.CHANGE: {Role.ADMIN, Role.FRONT_DESK},
    Need.ATTEND: {Role.ADMIN, Role.FRONT_DESK},
}
_OWN = {
    Need.READ: {Role.PRACTITIONER, Role.PATIENT},
    Need.CHANGE: {Role.PRACTITIONER, Role.PATIENT},
    Need.ATTEND: {Role.PRACTITIONER},
}
_CLIENT_SCOPE = {
    Need.READ: Scope.BOOKINGS_READ,
    Need.CHANGE: Scope.BOOKINGS_WRITE,
    Need.ATTEND: Scope.BOOKINGS_WRITE,
}


def role_may(actor: Actor, need: Need) -> bool:
    if actor.kind == "client":
        return actor.has_scope(_CLIENT_SCOPE[need])
    return actor.role in _ALL[need] or actor.role in _OWN[need]


def in_scope(actor: Actor, need: Need, practitioner: str, patient_id: str | None) -> bool:
    if actor.kind == "client" or actor.role in _ALL[need]:
        return role_may(actor, need)
    if actor.role is Role.PRACTITIONER and need in _OWN and actor.role in _OWN[need]:
        return actor.practitioner is not None and actor.practitioner == practitioner
    if actor.role is Role.PATIENT and actor.role in _OWN[need]:
        return actor.patient_id is not None and actor.patient_id == patient_id
    return False


def need_of(action: str) -> Need:
    return Need.CHANGE if action in ("cancel", "reschedule") else Need.ATTEND
