"""Who may do what with payments. Asked in two steps, as in booking and patients:

1. May this caller's role ever do it? If not: 403 (401 for anonymous), before any lookup.
2. Is this order within the caller's scope? Patients reach only their own orders; others
   answer 404, as if the order did not exist.

| need      | any order                      | own order only | notes                          |
|-----------|--------------------------------|----------------|--------------------------------|
| quote     | everyone, anonymous included   |                | prices are public              |
| pay       | admin, front desk              | patient        | stripe or paypal; capture      |
| in_clinic | admin, front desk              |                | cash or card terminal          |
| read      | admin, front desk, billing     | patient        | order, receipt                 |
| manage    | admin, front desk, billing     |                | sync with the gateway          |
| refund    | admin, front desk, billing     |                | with the policy or an override |
| codes     | admin, front desk, billing     |                | CPT / ICD-10 for a superbill   |
| revenue   | admin, billing, analyst        |                | aggregates, no patient data    |

API clients have no payments scope yet: they are refused everything but quotes.
"""

from __future__ import annotations

from enum import Enum

from clinicflow.shared.actor import Actor, Role


class Need(Enum):
    QUOTE = "quote"
    PAY = "pay"
    IN_CLINIC = "in_clinic"
    READ = "read"
    MANAGE = "manage"
    REFUND = "refund"
    CODES = "codes"
    REVENUE = "revenue"


_DESK = frozenset({Role.ADMIN, Role.FRONT_DESK})
_OFFICE = frozenset({Role.ADMIN, Role.FRONT_DESK, Role.BILLING})
_ALL: dict[Need, frozenset[Role]] = {
    Need.PAY: _DESK,
    Need.IN_CLINIC: _DESK,
    Need.READ: _OFFICE,
    Need.MANAGE: _OFFICE,
    Need.REFUND: _OFFICE,
    Need.CODES: _OFFICE,
    Need.REVENUE: frozenset({Role.ADMIN, Role.BILLING, Role.ANALYST}),
}
_OWN: dict[Need, frozenset[Role]] = {
    Need.PAY: frozenset({Role.PATIENT}),
    Need.READ: frozenset({Role.PATIENT}),
}


def role_may(actor: Actor, need: Need) -> bool:
    if need is Need.QUOTE:
        return True
    if actor.kind == "system":
        return True
    if actor.kind == "patient":
        return actor.role in _OWN.get(need, frozenset())
    if actor.kind != "user":
        return False
    return actor.role in _ALL[need]


def in_scope(actor: Actor, need: Need, patient_id: str) -> bool:
    """Whether an order of `patient_id` is within the caller's reach for `need`."""
    if not role_may(actor, need):
        return False
    if actor.kind == "patient":
        return actor.patient_id is not None and actor.patient_id == patient_id
    return True
