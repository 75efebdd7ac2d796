"""The entry's use cases: join, see where one stands, change preferences, withdraw; the
staff list; and the records launch waves, offers and nurture feed (engagement, stages).

Each change runs in one unit of work with its audit rows and its outbox event. The person's
own entry is reached by its private token; staff reach any entry by id; a signed-in patient
sees their own entries (`of_patient`), found by the contact details of their record.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.domain import choices
from clinicflow.waitlist.domain.access import Need
from clinicflow.waitlist.domain.channels import channel_values
from clinicflow.waitlist.domain.entry import Entry, NewEntry
from clinicflow.waitlist.domain.links import new_token, token_hash, well_formed
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.standing import Standing
from clinicflow.waitlist.domain.standing import standings as ranked
from clinicflow.waitlist.domain.states import Status
from clinicflow.waitlist.domain.zips import distance_miles
from clinicflow.waitlist.entries.commands import JoinRequest, Preferences
from clinicflow.waitlist.entries.ports import AlreadyListed, EntryChanges, EntryRepository
from clinicflow.waitlist.entries.views import (
    EntryList,
    EntryView,
    JoinResult,
    OwnEntry,
    PublicView,
)
from clinicflow.waitlist.errors import (
    EntryClosed,
    EntryNotFound,
    invalid,
    missing,
    no_link,
    no_such_link,
)
from clinicflow.waitlist.events import waitlist_event
from clinicflow.waitlist.guard import WaitlistCipher, WaitlistGuard, access
from clinicflow.waitlist.links.service import queued, standing_of, standings
from clinicflow.waitlist.messages.service import LinkMail
from clinicflow.waitlist.ports import WaitlistUnitOfWork

Finder = Callable[[EntryRepository], Awaitable[Entry | None]]


@dataclass(kw_only=True, eq=False)
class EntryService:
    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    catalog: Catalog
    cipher: WaitlistCipher
    guard: WaitlistGuard
    policy: WaitlistPolicy
    mail: LinkMail

    async def join(self, actor: Actor, req: JoinRequest) -> JoinResult:
        """A new entry; or, when the person already has an open entry for this service,
        that entry for callers who may see it, and otherwise an answer that looks exactly
        like a new entry's (the person hears of the repeat by email)."""
        await self.guard.require(actor, Need.JOIN)
        new = self._new_entry(actor, req)
        try:
            async with self.uow() as uow:
                found = await uow.entries.find_open(req.service, new.email_bidx, new.phone_bidx)
                if found is not None:
                    done = await self._again(uow, actor, found, new)
                else:
                    token, hashed = new_token()
                    entry = await uow.entries.add(new, hashed)
                    self.guard.audit(uow, actor, "create", [access(entry)], new.joined_at)
                    uow.publish(waitlist_event("joined", entry, new.joined_at))
                    done = await self._joined(uow.entries, entry, token)
                await uow.commit()
                return done
        except AlreadyListed:
            # A join for the same person and service committed first: answer as for a repeat.
            async with self.uow() as uow:
                found = await uow.entries.find_open(req.service, new.email_bidx, new.phone_bidx)
                if found is None:
                    raise
                done = await self._again(uow, actor, found, new)
                await uow.commit()
                return done

    async def _again(
        self, uow: WaitlistUnitOfWork, actor: Actor, found: Entry, new: NewEntry
    ) -> JoinResult:
        self.guard.audit(uow, actor, "join_again", [access(found)], self.clock.now())
        if actor.is_staff or (actor.patient_id and actor.patient_id == found.patient_id):
            return await self._joined(uow.entries, found, None)
        # The caller may be anyone who typed this email: nothing of the real entry (id, date,
        # place, preferences) and no link to it. A fresh id and an unused token stand in;
        # the score and place are those the caller's own answers would get as a new entry.
        token, _ = new_token()
        now = self.clock.now()
        queue, events = await uow.entries.queue(new.service, now)
        standing = ranked([*queue, queued(new)], events, now, self.policy)[new.id]
        view = PublicView(new.service, new.status, new.joined_at, standing,
                          self.policy.weights.as_dict())  # fmt: skip
        return JoinResult(new.id, view, token, False, self.mail.repeat_join(found))

    async def by_token(self, token: str) -> PublicView:
        """No audit row: the view holds nothing that identifies or reaches the person."""
        if not well_formed(token):
            raise no_link()
        async with self.uow.reading() as uow:
            entry = await uow.entries.by_token(token_hash(token))
            if entry is None:
                raise no_link()
            standing = await standing_of(uow.entries, entry, self.clock.now(), self.policy)
        return self.public(entry, standing)

    async def by_message(self, token: str) -> PublicView:
        """Where the entry a nurture message went to stands, for the page its tracking link
        opens: the same view the entry's own token gives (nothing that identifies or reaches
        the person), so no audit row either. It changes nothing: the click is recorded by
        `NurtureService.click`."""
        if not well_formed(token):
            raise no_such_link("message")
        async with self.uow.reading() as uow:
            message = await uow.nurtures.by_token(token_hash(token))
            entry = None if message is None else await uow.entries.get(message.entry_id)
            if entry is None:
                raise no_such_link("message")
            standing = await standing_of(uow.entries, entry, self.clock.now(), self.policy)
        return self.public(entry, standing)

    async def of_patient(
        self, actor: Actor, email: str | None, phone: str | None
    ) -> list[OwnEntry]:
        """The signed-in patient's own entries, newest first, each with the standing its
        token shows: those linked to them (joined signed in, or converted) and those joined
        with `email` and `phone` — normalized, and taken by the caller from the patient's own
        record, never from the request (with an email, only the email decides, as for a
        repeat join). An entry linked to another patient is never shown. Only a patient
        actor may ask, for themselves; each entry shown is an audited read."""
        await self.guard.require(actor, Need.OWN)
        patient_id = str(actor.patient_id)  # the guard let only a signed-in patient through
        email_bidx = self.cipher.index(email, "email")
        phone_bidx = self.cipher.index(phone, "phone")
        now = self.clock.now()
        async with self.uow.reading() as uow:
            found = await uow.entries.of_person(patient_id, email_bidx, phone_bidx)
            stand = [await standing_of(uow.entries, r, now, self.policy) for r in found]
        if found:
            await self.guard.record_alone(actor, "read", [access(r) for r in found])
        pairs = zip(found, stand, strict=True)
        return [OwnEntry(r.id, self.public(r, s), r.changeable) for r, s in pairs]

    async def listed(
        self,
        actor: Actor,
        service: str | None = None,
        status: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> EntryList:
        """Per service (catalog order), queued entries by position, then the rest by join
        time. Positions are over the whole service, whatever the page. Every entry shown is
        an audited read."""
        await self.guard.require(actor, Need.LIST)
        if service is not None and service not in self.catalog.services:
            raise invalid([choices.unknown_service(self.catalog, service)])
        now = self.clock.now()
        async with self.uow.reading() as uow:
            found = await uow.entries.listed(service, status)
            stand: dict[str, Standing] = {}
            for key in dict.fromkeys(r.service for r in found):
                stand |= await standings(uow.entries, key, now, self.policy)
            for entry in found:
                if entry.id not in stand:
                    stand[entry.id] = await standing_of(uow.entries, entry, now, self.policy)
        page = sorted(found, key=lambda r: self._order(r, stand[r.id]))[offset : offset + limit]
        await self.guard.record_alone(actor, "read", [access(r) for r in page])
        views = [EntryView.of(r, stand[r.id], self.cipher) for r in page]
        return EntryList(self.policy.weights.as_dict(), views)

    async def update_by_token(self, actor: Actor, token: str, prefs: Preferences) -> PublicView:
        return self.public(*await self._change(actor, _by_token(token), no_link(), prefs))

    async def withdraw_by_token(self, actor: Actor, token: str) -> PublicView:
        return self.public(*await self._change(actor, _by_token(token), no_link(), None))

    async def update(self, actor: Actor, entry_id: str, prefs: Preferences) -> EntryView:
        await self.guard.require(actor, Need.CHANGE, entry_id)
        entry, standing = await self._change(actor, _by_id(entry_id), missing(entry_id), prefs)
        return EntryView.of(entry, standing, self.cipher)

    async def withdraw(self, actor: Actor, entry_id: str, reason: str | None = None) -> EntryView:
        await self.guard.require(actor, Need.CHANGE, entry_id)
        found, gone = _by_id(entry_id), missing(entry_id)
        entry, standing = await self._change(actor, found, gone, None, reason)
        return EntryView.of(entry, standing, self.cipher)

    async def record_engagement(
        self, entry_id: str, kind: str, at: datetime, ref: str | None = None
    ) -> bool:
        """An opened message, a click or a visit (for nurture and tracking links). Whether
        it was new: a repeated `ref` counts once."""
        async with self.uow() as uow:
            if await uow.entries.get(entry_id) is None:
                raise missing(entry_id)
            added = await uow.entries.add_engagement(entry_id, kind, at, ref)
            await uow.commit()
        return added

    async def stamp(self, entry_id: str, stage: str, at: datetime) -> bool:
        """When the entry first reached a conversion stage (notified, clicked, booked, paid)."""
        async with self.uow() as uow:
            stamped = await uow.entries.stamp(entry_id, stage, at)
            await uow.commit()
        return stamped

    def public(self, entry: Entry, standing: Standing) -> PublicView:
        weights = self.policy.weights.as_dict()
        return PublicView(entry.service, entry.status, entry.joined_at, standing, weights)

    async def _joined(
        self, entries: EntryRepository, entry: Entry, token: str | None
    ) -> JoinResult:
        standing = await standing_of(entries, entry, self.clock.now(), self.policy)
        return JoinResult(entry.id, self.public(entry, standing), token, token is None)

    def _new_entry(self, actor: Actor, req: JoinRequest) -> NewEntry:
        service, found = choices.service_for(self.catalog, req.service)
        found += choices.practitioner_problems(service, req.preferred_practitioner)
        contact = req.contact
        if not contact.email and not contact.phone:
            found.append(("email", "give an email or a phone (or both), so the clinic can "
                          "reach you"))  # fmt: skip
        if found:
            raise invalid(found)
        now = self.clock.now()
        channels, found = channel_values(
            {}, req.channels, req.sms_consent, bool(contact.email), bool(contact.phone), now
        )
        if found:
            raise invalid(found)
        distance = distance_miles(req.zip, self.catalog.clinic.zip)
        index, entry_id = self.cipher.index, str(uuid.uuid4())

        def seal(value: str | None, column: str) -> str | None:
            return self.cipher.seal(value, column, entry_id)

        return NewEntry(
            id=entry_id,
            service=req.service,
            status=Status.WAITING.value,
            first_name_enc=seal(contact.first_name, "first_name"),
            last_name_enc=seal(contact.last_name, "last_name"),
            email_enc=seal(contact.email, "email"),
            phone_enc=seal(contact.phone, "phone"),
            zip_enc=seal(req.zip, "zip"),
            email_bidx=index(contact.email, "email"),
            phone_bidx=index(contact.phone, "phone"),
            zip3=req.zip[:3],
            distance_mi=None if distance is None else round(distance),
            interest_level=req.interest_level,
            channels=channels,
            preferred_practitioner=req.preferred_practitioner,
            preferred_times=[w.as_dict() for w in req.preferred_times],
            campaign=req.campaign,
            referrer=req.referrer,
            patient_id=actor.patient_id if actor.role is Role.PATIENT else None,
            joined_at=now,
            status_at=now,
            updated_at=now,
        )

    async def _change(
        self,
        actor: Actor,
        find: Finder,
        not_found: EntryNotFound,
        prefs: Preferences | None,
        reason: str | None = None,
    ) -> tuple[Entry, Standing]:
        """Change preferences (`prefs`) or withdraw (None); the entry after, and its standing."""
        async with self.uow() as uow:
            entry = await find(uow.entries)
            if entry is None:
                raise not_found
            now = self.clock.now()
            if prefs is not None:
                refuse_closed(entry)
                await uow.entries.change(entry, self._preferences(entry, prefs, now), now)
                self.guard.audit(uow, actor, "update", [access(entry)], now)
            elif entry.status != Status.WITHDRAWN:  # withdrawing twice changes nothing
                refuse_closed(entry)
                await uow.entries.change(entry, {"status": Status.WITHDRAWN.value}, now)
                self.guard.audit(uow, actor, "withdraw", [access(entry)], now, reason=reason)
                gone = await uow.entries.get(entry.id)
                by = "staff" if actor.is_staff else "person"
                uow.publish(waitlist_event("withdrawn", gone or entry, now, by=by))
            after = await uow.entries.get(entry.id) or entry
            standing = await standing_of(uow.entries, after, now, self.policy)
            await uow.commit()
        return after, standing

    def _preferences(self, entry: Entry, prefs: Preferences, now: datetime) -> EntryChanges:
        given = prefs.given
        values: EntryChanges = {}
        if "preferred_practitioner" in given:
            service = self.catalog.services.get(entry.service)
            found = choices.practitioner_problems(service, prefs.preferred_practitioner)
            if found:
                raise invalid(found)
            values["preferred_practitioner"] = prefs.preferred_practitioner
        if prefs.interest_level is not None:
            values["interest_level"] = prefs.interest_level
        if prefs.preferred_times is not None:
            values["preferred_times"] = [w.as_dict() for w in prefs.preferred_times]
        if prefs.channels is not None or prefs.sms_consent is not None:
            has_email, has_phone = entry.email_enc is not None, entry.phone_enc is not None
            channels, found = channel_values(
                entry.channels or {}, prefs.channels, prefs.sms_consent, has_email, has_phone,
                now,
            )  # fmt: skip
            if found:
                raise invalid(found)
            values["channels"] = channels
        return values

    def _order(self, entry: Entry, standing: Standing) -> tuple[int, str, int, int, datetime, str]:
        services = list(self.catalog.services)
        first = services.index(entry.service) if entry.service in services else len(services)
        position = standing.position
        queued = 0 if position is not None else 1
        return (first, entry.service, queued, position or 0, entry.joined_at, entry.id)


def _by_token(token: str) -> Finder:
    async def find(entries: EntryRepository) -> Entry | None:
        return await entries.by_token(token_hash(token), lock=True)

    return find


def _by_id(entry_id: str) -> Finder:
    async def find(entries: EntryRepository) -> Entry | None:
        return await entries.get(entry_id, lock=True)

    return find


def refuse_closed(entry: Entry) -> None:
    if not entry.changeable:
        raise EntryClosed(
            f"this entry is {entry.status} and has left the waitlist, so it cannot change; "
            "join again for a new entry",
            entry_status=entry.status,
        )
