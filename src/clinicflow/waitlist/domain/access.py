"""Who may do what with the waitlist.

| need    | who                                    | notes                                    |
|---------|----------------------------------------|------------------------------------------|
| join    | anyone, signed in or not               | people join before they have an account  |
| list    | admin, front desk                      | names and contacts: PHI, audited         |
| change  | admin, front desk                      | preferences or withdrawal by entry id    |
| stats   | admin, front desk, analyst             | aggregates only, no PHI                  |
| launch  | admin                                  | makes a service bookable, invites waves  |
| convert | admin, front desk                      | an entry to a patient and a booking      |
| own     | a signed-in patient                    | their own entries (by their record's     |
|         |                                        | contact details), never anyone else's    |

The person's own entry is reached by its private token, not by a role: holding the token is
the permission (see docs/waitlist.md). A signed-in patient also sees their own entries, read
only, in their area. API clients have no waitlist scope yet, so only join.
"""

from __future__ import annotations

from enum import Enum

from clinicflow.shared.actor import Actor, Role


class Need(Enum):
    JOIN = "join"
    LIST = "list"
    CHANGE = "change"
    STATS = "stats"
    LAUNCH = "launch"
    CONVERT = "convert"
    OWN = "own"


_ROLES: dict[Need, frozenset[Role] | None] = {
    Need.JOIN: None,  # everyone
    Need.LIST: frozenset({Role.ADMIN, Role.FRONT_DESK}),
    Need.CHANGE: frozenset({Role.ADMIN, Role.FRONT_DESK}),
    Need.STATS: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.ANALYST}),
    Need.LAUNCH: frozenset({Role.ADMIN}),
    Need.CONVERT: frozenset({Role.ADMIN, Role.FRONT_DESK}),
    Need.OWN: frozenset({Role.PATIENT}),
}


def role_may(actor: Actor, need: Need) -> bool:
    roles = _ROLES[need]
    if roles is None:
        return True
    if need is Need.OWN:  # a patient signed in by link, and only as themselves
        return actor.kind == "patient" and actor.role in roles and actor.patient_id is not None
    return actor.kind == "user" and actor.role in roles
