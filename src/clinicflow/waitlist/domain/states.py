"""The life of a waitlist entry.

    waiting ──invite (launch wave)──▶ invited ──books──▶ booked ──▶ converted
       │  ◀──────── link expired ───────┘                         (a patient, paid)
       ├──offer (freed slot)──▶ offered ──claims──▶ booked
       │  ◀──────── claim window over ──┘
       └──▶ withdrawn   (from waiting, invited or offered; by the person or staff)

Launch waves invite (`waitlist.launches`), freed slots are offered (`waitlist.offers`),
claims and staff conversions book, and a payment converts (`waitlist.conversions`).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    WAITING = "waiting"
    INVITED = "invited"  # sent a booking link in a launch wave
    OFFERED = "offered"  # holding a freed slot's claim window
    BOOKED = "booked"  # booked through an invitation or offer
    CONVERTED = "converted"  # an active patient now
    WITHDRAWN = "withdrawn"


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
# Still waiting for a visit: these are ranked, and have a position.
QUEUED = frozenset({Status.WAITING, Status.INVITED, Status.OFFERED})
# A second join for the same service and contact returns one of these instead of a new entry.
# Converted and withdrawn entries are history: joining again starts a new entry.
OPEN = QUEUED | {Status.BOOKED}
# The person or staff may withdraw (and change preferences) only while still queued.
CHANGEABLE = QUEUED

# Conversion stages, each stamped once on the entry when first reached.
STAGES: tuple[str, ...] = ("notified", "clicked", "booked", "paid")

ENGAGEMENT_KINDS: tuple[str, ...] = ("opened", "clicked", "visited")

# An invitation (launch wave) or an offer (freed slot) is a tokenized link with a window.
# `claiming` is the short step while a claim books: it is what makes a second claim of the
# same link wait for the first and then get 409, so one link never books twice.
INVITATION_STATUSES: tuple[str, ...] = ("sent", "claiming", "claimed", "expired", "withdrawn")
OFFER_STATUSES: tuple[str, ...] = ("made", "claiming", "claimed", "expired", "withdrawn")
LIVE_INVITATION = ("sent", "claiming")
LIVE_OFFER = ("made", "claiming")
