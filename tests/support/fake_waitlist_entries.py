"""The waitlist's state in memory and its entries' repository, for support/fake_waitlist.py:
`WaitlistState` (the tables, booking's holds, the launched set), `Hooks` (what a test makes
happen between two steps) and `FakeEntries`, which keeps the database's rules (one open
entry per service and person, conditional status moves)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from clinicflow.waitlist.domain.entry import Entry, NewEntry, Placement
from clinicflow.waitlist.domain.links import Invitation, NurtureMessage, Offer
from clinicflow.waitlist.domain.scoring import Engagement
from clinicflow.waitlist.domain.slots import Slot
from clinicflow.waitlist.domain.standing import Queued
from clinicflow.waitlist.domain.states import OPEN, QUEUED, STAGES, Status
from clinicflow.waitlist.entries.ports import AlreadyListed, EntryChanges
from support.fake_tables import OnTables


@dataclass
class Hold:
    """A booking hold or booking on booking's side."""

    id: str
    slot: Slot
    status: str  # held | confirmed | cancelled
    expires_at: datetime | None
    patient_id: str | None = None


@dataclass
class BookingNow:
    status: str
    patient_id: str | None


@dataclass
class WaitlistState:
    entries: dict[str, Entry] = field(default_factory=dict)
    engagements: list[tuple[str, str, datetime, str | None]] = field(default_factory=list)
    waves: dict[tuple[str, int], tuple[datetime, int, int]] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    nurtures: dict[str, NurtureMessage] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    # Booking's and the catalog's side.
    holds: dict[str, Hold] = field(default_factory=dict)
    launched: set[str] = field(default_factory=set)


# -- the repositories ------------------------------------------------------------------------


@dataclass
class Hooks:
    """What a test makes happen between two steps, outside any unit of work (so no
    rollback undoes it)."""

    blind_once: bool = False  # the next `find_open` misses: another join commits just after
    stale_wave_once: bool = False  # the next `last` wave misses one another process just sent


class FakeEntries(OnTables[WaitlistState]):
    def __init__(self, state: WaitlistState, hooks: Hooks | None = None) -> None:
        super().__init__(state)
        self.hooks = hooks or Hooks()

    async def find_open(
        self, service: str, email_bidx: str | None, phone_bidx: str | None
    ) -> Entry | None:
        if self.hooks.blind_once:
            self.hooks.blind_once = False
            return None
        if email_bidx:
            found = [e for e in self._open(service) if e.email_bidx == email_bidx]
        elif phone_bidx:
            found = [e for e in self._open(service) if e.phone_bidx == phone_bidx]
        else:
            return None
        return min(found, key=lambda e: (e.joined_at, e.id), default=None)

    def _open(self, service: str) -> list[Entry]:
        return [e for e in self._t.entries.values() if e.service == service and e.status in OPEN]

    async def of_person(
        self, patient_id: str, email_bidx: str | None, phone_bidx: str | None
    ) -> list[Entry]:
        def theirs(e: Entry) -> bool:
            if e.patient_id is not None:
                return e.patient_id == patient_id
            if email_bidx:
                return e.email_bidx == email_bidx
            return phone_bidx is not None and e.phone_bidx == phone_bidx

        found = [e for e in self._t.entries.values() if theirs(e)]
        found.sort(key=lambda e: e.id)
        return sorted(found, key=lambda e: e.joined_at, reverse=True)

    async def get(self, entry_id: str, *, lock: bool = False) -> Entry | None:
        return self._t.entries.get(entry_id)

    async def by_token(self, token_hash: str, *, lock: bool = False) -> Entry | None:
        return next((e for e in self._t.entries.values() if e.token_hash == token_hash), None)

    async def add(self, new: NewEntry, token_hash: str) -> Entry:
        for e in self._open(new.service):  # the unique indexes on open entries
            if (new.email_bidx and e.email_bidx == new.email_bidx) or (
                not new.email_bidx and not e.email_bidx and e.phone_bidx == new.phone_bidx
            ):
                raise AlreadyListed(new.service)
        entry = entry_from(new, token_hash)
        self._t.entries[entry.id] = entry
        return entry

    async def change(self, entry: Entry, values: EntryChanges, now: datetime) -> None:
        current = self._t.entries[entry.id]
        status_at = now if values.get("status", current.status) != current.status else None
        self._t.entries[entry.id] = replace(
            current,
            **values,
            status_at=status_at or current.status_at,
            updated_at=now,
            version=entry.version + 1,
        )

    async def move(
        self, entry_id: str, from_: Collection[str], to: Status, now: datetime
    ) -> Entry | None:
        return self._move(entry_id, from_, to, now)

    async def place(
        self, entry_id: str, from_: Collection[str], placed: Placement, now: datetime
    ) -> Entry | None:
        return self._move(entry_id, from_, Status.BOOKED, now, placed)

    def _move(
        self,
        entry_id: str,
        from_: Collection[str],
        to: Status,
        now: datetime,
        placed: Placement | None = None,
    ) -> Entry | None:
        entry = self._t.entries.get(entry_id)
        if entry is None or entry.status not in from_:
            return None
        moved = replace(
            entry, status=to.value, status_at=now, updated_at=now, version=entry.version + 1
        )
        if placed is not None:
            moved = replace(moved, patient_id=placed.patient_id, booking_id=placed.booking_id)
        self._t.entries[entry_id] = moved
        return moved

    async def add_engagement(
        self, entry_id: str, kind: str, at: datetime, ref: str | None = None
    ) -> bool:
        if ref is not None and any(
            (e, k, r) == (entry_id, kind, ref) for e, k, _, r in self._t.engagements
        ):
            return False
        self._t.engagements.append((entry_id, kind, at, ref))
        return True

    async def stamp(self, entry_id: str, stage: str, at: datetime) -> bool:
        assert stage in STAGES
        entry = self._t.entries.get(entry_id)
        if entry is None or entry.reached(stage) is not None:
            return False
        self._t.entries[entry_id] = replace(entry, **{f"{stage}_at": at}, updated_at=at)  # type: ignore[arg-type]
        return True

    async def queue(
        self, service: str, now: datetime
    ) -> tuple[list[Queued], dict[str, tuple[Engagement, ...]]]:
        queued = [
            Queued(e.id, e.joined_at, e.interest_level, e.distance_mi)
            for e in self._t.entries.values()
            if e.service == service and e.status in QUEUED
        ]
        ids = {q.id for q in queued}
        grouped: dict[str, list[Engagement]] = defaultdict(list)
        for entry_id, kind, at, _ in self._t.engagements:
            if entry_id in ids and at <= now:
                grouped[entry_id].append(Engagement(kind, at))
        return queued, {k: tuple(v) for k, v in grouped.items()}

    async def engagements_of(self, entry_id: str, now: datetime) -> tuple[Engagement, ...]:
        return tuple(
            Engagement(k, at) for e, k, at, _ in self._t.engagements if e == entry_id and at <= now
        )

    async def listed(self, service: str | None, status: str | None) -> list[Entry]:
        found = [
            e
            for e in self._t.entries.values()
            if (service is None or e.service == service) and (status is None or e.status == status)
        ]
        return sorted(found, key=lambda e: (e.service, e.joined_at, e.id))

    async def withdrawn_before(self, at: datetime) -> list[str]:
        gone = [e for e in self._t.entries.values() if e.status == "withdrawn" and e.status_at < at]
        return [e.id for e in sorted(gone, key=lambda e: (e.status_at, e.id))]

    async def delete_withdrawn_before(self, at: datetime) -> list[str]:
        ids = await self.withdrawn_before(at)
        for entry_id in ids:
            del self._t.entries[entry_id]
        s = self._t
        s.engagements = [x for x in s.engagements if x[0] not in ids]
        s.invitations = {k: i for k, i in s.invitations.items() if i.entry_id not in ids}
        s.offers = {k: o for k, o in s.offers.items() if o.entry_id not in ids}
        s.nurtures = {k: m for k, m in s.nurtures.items() if m.entry_id not in ids}
        return ids

    async def converted_by(self, booking_ids: Sequence[str]) -> list[str]:
        return [e.id for e in self._t.entries.values() if e.booking_id in booking_ids]


def entry_from(new: NewEntry, token_hash: str) -> Entry:
    return Entry(
        **{k: getattr(new, k) for k in NewEntry.__dataclass_fields__},
        token_hash=token_hash,
        booking_id=None,
        notified_at=None,
        clicked_at=None,
        booked_at=None,
        paid_at=None,
        version=1,
    )
