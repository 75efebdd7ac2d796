"""The entries' repository, as the use cases see it (`uow.entries`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol, TypedDict

from clinicflow.waitlist.domain.entry import Channels, Entry, NewEntry, Placement, Windows
from clinicflow.waitlist.domain.scoring import Engagement
from clinicflow.waitlist.domain.standing import Engagements, Queued
from clinicflow.waitlist.domain.states import Status


class AlreadyListed(Exception):
    """A join for the same person and service committed first (the database's unique
    index on open entries refused the second)."""


class EntryChanges(TypedDict, total=False):
    status: str
    interest_level: int
    preferred_practitioner: str | None
    preferred_times: Windows
    channels: Channels


class EntryRepository(Protocol):
    async def find_open(
        self, service: str, email_bidx: str | None, phone_bidx: str | None
    ) -> Entry | None:
        """The open entry for this service and person. With an email, only the email
        decides: family members often share a phone (the patients' rule too)."""
        ...

    async def of_person(
        self, patient_id: str, email_bidx: str | None, phone_bidx: str | None
    ) -> list[Entry]:
        """Every entry, in any status, of this person: linked to `patient_id` (joined signed
        in, or converted), or joined with their email (with an email, only the email decides,
        as in `find_open`), and not linked to another patient. Newest first."""
        ...

    async def get(self, entry_id: str, *, lock: bool = False) -> Entry | None: ...

    async def by_token(self, token_hash: str, *, lock: bool = False) -> Entry | None: ...

    async def add(self, new: NewEntry, token_hash: str) -> Entry:
        """Raises `AlreadyListed` when an open entry of the person and service exists."""
        ...

    async def change(self, entry: Entry, values: EntryChanges, now: datetime) -> None:
        """Update an entry loaded (and locked) in this unit of work."""
        ...

    async def move(
        self, entry_id: str, from_: Collection[str], to: Status, now: datetime
    ) -> Entry | None:
        """The entry after moving it to `to`, or None when it was no longer in `from_`."""
        ...

    async def place(
        self, entry_id: str, from_: Collection[str], placed: Placement, now: datetime
    ) -> Entry | None:
        """Moved to booked with its patient and booking; None when no longer in `from_`."""
        ...

    async def add_engagement(
        self, entry_id: str, kind: str, at: datetime, ref: str | None = None
    ) -> bool:
        """Whether it was new: with a `ref`, a repeated delivery of one event counts once."""
        ...

    async def stamp(self, entry_id: str, stage: str, at: datetime) -> bool:
        """Record when an entry first reached a conversion stage; a later stamp changes
        nothing (False)."""
        ...

    async def queue(self, service: str, now: datetime) -> tuple[list[Queued], Engagements]:
        """Every queued entry of `service`, and their engagement up to `now`."""
        ...

    async def engagements_of(self, entry_id: str, now: datetime) -> tuple[Engagement, ...]: ...

    async def listed(self, service: str | None, status: str | None) -> list[Entry]:
        """By service, join time, id."""
        ...

    async def withdrawn_before(self, at: datetime) -> list[str]:
        """Ids of entries withdrawn before `at`, the longest withdrawn first."""
        ...

    async def delete_withdrawn_before(self, at: datetime) -> list[str]:
        """Deletes them (locked first), with their engagement, invitations, offers and
        nurture messages; their ids."""
        ...

    async def converted_by(self, booking_ids: Sequence[str]) -> list[str]:
        """Ids of the entries these bookings converted."""
        ...
