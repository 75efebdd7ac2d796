"""Waitlist: people waiting for a service that has not launched, or for a freed slot in a
live one; ranked by a transparent priority score. PHI is sealed at rest.

Public surface for other contexts and the integrator: the service, the reader, the states,
the policy and timing, and the ports the composition root implements (`BookingDesk`,
`Messenger`). Tables: `waitlist_entry`, `waitlist_engagement`, `waitlist_wave`,
`waitlist_invitation`, `waitlist_offer`, `waitlist_nurture`.
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
from clinicflow.waitlist.handlers import WaitlistService
from clinicflow.waitlist.ports import BookingDesk, Messenger, Slot
from clinicflow.waitlist.reads import WaitlistReader
from clinicflow.waitlist.wiring import Waitlist, build_waitlist

__all__ = [
    "CHANGEABLE",
    "ENGAGEMENT_KINDS",
    "OPEN",
    "QUEUED",
    "STAGES",
    "BookingDesk",
    "Messenger",
    "Slot",
    "Status",
    "Timing",
    "Waitlist",
    "WaitlistPolicy",
    "WaitlistReader",
    "WaitlistService",
    "Weights",
    "build_waitlist",
]
