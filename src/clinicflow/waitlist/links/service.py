"""What every page behind a waitlist link shares (an entry's own token, a launch
invitation, a freed slot's offer, a nurture message): the token checked, with one not-found
answer for anything malformed; a live link's opening counted as a click; and where the
entry stands in its service's queue (also what the staff list shows).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from clinicflow.waitlist.domain.entry import Entry, NewEntry
from clinicflow.waitlist.domain.links import Invitation, Offer, token_hash, well_formed
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.standing import Queued, Standing, alone
from clinicflow.waitlist.domain.standing import standings as ranked
from clinicflow.waitlist.entries.ports import EntryRepository
from clinicflow.waitlist.errors import no_such_link


async def standings(
    entries: EntryRepository, service: str, now: datetime, policy: WaitlistPolicy
) -> dict[str, Standing]:
    """Entry id → standing, for every queued entry of `service`."""
    queue, events = await entries.queue(service, now)
    return ranked(queue, events, now, policy)


async def standing_of(
    entries: EntryRepository, entry: Entry, now: datetime, policy: WaitlistPolicy
) -> Standing:
    """One entry's standing: its place in the queue, or its score alone once it left it."""
    if entry.queued:
        return (await standings(entries, entry.service, now, policy))[entry.id]
    return alone(queued(entry), await entries.engagements_of(entry.id, now), now, policy)


def checked(token: str, kind: str) -> str:
    """A link's token hash, or the one not-found answer for anything malformed."""
    if not well_formed(token):
        raise no_such_link(kind)
    return token_hash(token)


async def clicked(entries: EntryRepository, entry_id: str, ref: str, now: datetime) -> None:
    """The first look at a link: the clicked stage, and a click for the engagement score."""
    await entries.stamp(entry_id, "clicked", now)
    await entries.add_engagement(entry_id, "clicked", now, ref)


L = TypeVar("L", Invitation, Offer)


async def opened(
    entries: EntryRepository, found: L | None, kind: str, live: str, now: datetime
) -> L:
    """The link (invitation, offer) a token named, or the one not-found answer; while it is
    open (status `live`, not yet expired), looking at it counts as a click."""
    if found is None:
        raise no_such_link(kind)
    if found.status == live and found.expires_at > now:
        await clicked(entries, found.entry_id, f"{kind}:{found.id}", now)
    return found


def queued(entry: NewEntry) -> Queued:
    return Queued(entry.id, entry.joined_at, entry.interest_level, entry.distance_mi)
