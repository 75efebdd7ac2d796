"""Waitlist: people waiting for a service that has not launched, or for a freed slot in a
live one; ranked by a transparent priority score. PHI is sealed at rest.

One sub-package per aggregate: `entries/` (joining, standing, preferences, the staff list),
`launches/` (launch waves and invitations), `offers/` (freed slots), `conversions/`
(bookings made from the list, and payments), `nurture/` (messages to the waiting),
`stats/`, `messages/` (the emails); pure rules in `domain/`, one unit of work over them all
(`ports.WaitlistUnitOfWork`, `repository.SqlWaitlistUnitOfWork`).

Public surface for other contexts and the integrator: the use cases (`Waitlist`), the
states, the policy and timing, and the ports the composition root implements
(`BookingDesk`, `BookingRecords`, `Messenger`). Tables: `waitlist_entry`,
`waitlist_engagement`, `waitlist_wave`, `waitlist_invitation`, `waitlist_offer`,
`waitlist_nurture`.
"""

from clinicflow.waitlist.domain.policy import WaitlistPolicy, Weights
from clinicflow.waitlist.domain.states import (
    CHANGEABLE,
    ENGAGEMENT_KINDS,
    OPEN,
    QUEUED,
    STAGES,
    Status,
)
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.ports import BookingDesk, BookingRecords, Messenger, Slot
from clinicflow.waitlist.service import Waitlist

__all__ = [
    "CHANGEABLE",
    "ENGAGEMENT_KINDS",
    "OPEN",
    "QUEUED",
    "STAGES",
    "BookingDesk",
    "BookingRecords",
    "Messenger",
    "Slot",
    "Status",
    "Timing",
    "Waitlist",
    "WaitlistPolicy",
    "Weights",
]
