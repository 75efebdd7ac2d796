"""Waitlist use cases that change data: join, change preferences, withdraw; and the records
launch waves, offers and nurture will feed (engagement, conversion stages).

Each runs in one write transaction with its audit rows and its outbox event. The person's
own entry is reached by its private token; staff reach any entry by id.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import record
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.waitlist import checks, zips
from clinicflow.waitlist import repository as repo
from clinicflow.waitlist.cipher import WaitlistCipher
from clinicflow.waitlist.commands import JoinRequest, Preferences
from clinicflow.waitlist.domain.access import Need
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.states import CHANGEABLE, Status
from clinicflow.waitlist.errors import EntryClosed, EntryNotFound, invalid, no_link
from clinicflow.waitlist.events import waitlist_event
from clinicflow.waitlist.guard import WaitlistGuard, access
from clinicflow.waitlist.messages import LinkMail
from clinicflow.waitlist.queries import standing_if_added, standing_of
from clinicflow.waitlist.tables import entries
from clinicflow.waitlist.views import EntryView, JoinResult, PublicView

Finder = Callable[[AsyncConnection], Awaitable[Row[Any] | None]]


class WaitlistService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        cipher: WaitlistCipher,
        guard: WaitlistGuard,
        policy: WaitlistPolicy,
        mail: LinkMail,
    ) -> None:
        self._mail = mail
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._cipher = cipher
        self._guard = guard
        self.policy = policy

    async def join(self, actor: Actor, req: JoinRequest) -> JoinResult:
        """A new entry; or, when the person already has an open entry for this service,
        that entry for callers who may see it, and otherwise an answer that looks exactly
        like a new entry's (the person hears of the repeat by email)."""
        await self._guard.require(actor, Need.JOIN)
        values = self._new_entry(actor, req)
        email_bidx, phone_bidx = values["email_bidx"], values["phone_bidx"]
        try:
            async with self._db.write() as conn:
                found = await repo.find_open(conn, req.service, email_bidx, phone_bidx)
                if found is not None:
                    return await self._again(conn, actor, found, values)
                token, values["token_hash"] = checks.new_token()
                await conn.execute(insert(entries).values(**values))
                row = await repo.load(conn, values["id"])
                await self._guard.trail.record(conn, actor, "create", [access(row)])
                await record(conn, waitlist_event("joined", row, values["joined_at"]))
                return await self._joined(conn, row, token)
        except IntegrityError:
            # A join for the same person and service committed first: answer as for a repeat.
            async with self._db.write() as conn:
                found = await repo.find_open(conn, req.service, email_bidx, phone_bidx)
                if found is None:
                    raise
                return await self._again(conn, actor, found, values)

    async def _again(
        self, conn: AsyncConnection, actor: Actor, found: Any, values: dict[str, Any]
    ) -> JoinResult:
        await self._guard.trail.record(conn, actor, "join_again", [access(found)])
        if actor.is_staff or (actor.patient_id and actor.patient_id == found.patient_id):
            return await self._joined(conn, found, None)
        # The caller may be anyone who typed this email: nothing of the real entry (id, date,
        # place, preferences) and no link to it. A fresh id and an unused token stand in;
        # the score and place are those the caller's own answers would get as a new entry.
        token, _ = checks.new_token()
        standing = await standing_if_added(conn, values, self._clock.now(), self.policy)
        view = PublicView(values["service"], values["status"], values["joined_at"], standing,
                          self.policy.weights.as_dict())  # fmt: skip
        return JoinResult(values["id"], view, token, False, self._mail.repeat_join(found))

    async def update_by_token(self, actor: Actor, token: str, prefs: Preferences) -> PublicView:
        row, standing = await self._change(actor, _by_token(token), no_link(), prefs)
        return self.public(row, standing)

    async def withdraw_by_token(self, actor: Actor, token: str) -> PublicView:
        row, standing = await self._change(actor, _by_token(token), no_link(), None)
        return self.public(row, standing)

    async def update(self, actor: Actor, entry_id: str, prefs: Preferences) -> EntryView:
        await self._guard.require(actor, Need.CHANGE, entry_id)
        row, standing = await self._change(actor, _by_id(entry_id), _missing(entry_id), prefs)
        return EntryView.of(row, standing, self._cipher)

    async def withdraw(self, actor: Actor, entry_id: str, reason: str | None = None) -> EntryView:
        await self._guard.require(actor, Need.CHANGE, entry_id)
        found = _by_id(entry_id)
        row, standing = await self._change(actor, found, _missing(entry_id), None, reason)
        return EntryView.of(row, standing, self._cipher)

    async def record_engagement(
        self, entry_id: str, kind: str, at: datetime, ref: str | None = None
    ) -> bool:
        """An opened message, a click or a visit (for nurture and tracking links). Whether
        it was new: a repeated `ref` counts once."""
        async with self._db.write() as conn:
            if await repo.load(conn, entry_id) is None:
                raise _missing(entry_id)
            return await repo.add_engagement(conn, entry_id, kind, at, ref)

    async def stamp(self, entry_id: str, stage: str, at: datetime) -> bool:
        """When the entry first reached a conversion stage (notified, clicked, booked, paid)."""
        async with self._db.write() as conn:
            return await repo.stamp(conn, entry_id, stage, at)

    def public(self, row: Any, standing: Any) -> PublicView:
        weights = self.policy.weights.as_dict()
        return PublicView(row.service, row.status, row.joined_at, standing, weights)

    async def _joined(self, conn: AsyncConnection, row: Any, token: str | None) -> JoinResult:
        standing = await standing_of(conn, row, self._clock.now(), self.policy)
        return JoinResult(row.id, self.public(row, standing), token, token is None)

    def _new_entry(self, actor: Actor, req: JoinRequest) -> dict[str, Any]:
        service, found = checks.service_for(self._catalog, req.service)
        found += checks.practitioner_problems(service, req.preferred_practitioner)
        contact = req.contact
        if not contact.email and not contact.phone:
            found.append(("email", "give an email or a phone (or both), so the clinic can "
                          "reach you"))  # fmt: skip
        if found:
            raise invalid(found)
        now = self._clock.now()
        given = {"channels": req.channels, "sms_consent": req.sms_consent}
        channels = checks.channel_values({}, given, bool(contact.email), bool(contact.phone), now)
        distance = zips.distance_miles(req.zip, self._catalog.clinic.zip)
        index, entry_id = self._cipher.index, str(uuid.uuid4())

        def seal(value: str | None, column: str) -> str | None:
            return self._cipher.seal(value, column, entry_id)

        return {
            "id": entry_id,
            "service": req.service,
            "status": Status.WAITING.value,
            "first_name_enc": seal(contact.first_name, "first_name"),
            "last_name_enc": seal(contact.last_name, "last_name"),
            "email_enc": seal(contact.email, "email"),
            "phone_enc": seal(contact.phone, "phone"),
            "zip_enc": seal(req.zip, "zip"),
            "email_bidx": index(contact.email, "email"),
            "phone_bidx": index(contact.phone, "phone"),
            "zip3": req.zip[:3],
            "distance_mi": None if distance is None else round(distance),
            "interest_level": req.interest_level,
            "channels": channels,
            "preferred_practitioner": req.preferred_practitioner,
            "preferred_times": [w.as_dict() for w in req.preferred_times],
            "campaign": req.campaign,
            "referrer": req.referrer,
            "patient_id": actor.patient_id if actor.role is Role.PATIENT else None,
            "joined_at": now,
            "status_at": now,
            "updated_at": now,
        }

    async def _change(
        self,
        actor: Actor,
        find: Finder,
        missing: EntryNotFound,
        prefs: Preferences | None,
        reason: str | None = None,
    ) -> tuple[Any, Any]:
        """Change preferences (`prefs`) or withdraw (None); the row after, and its standing."""
        async with self._db.write() as conn:
            row = await find(conn)
            if row is None:
                raise missing
            now = self._clock.now()
            if prefs is not None:
                await self._set_preferences(conn, actor, row, prefs, now)
            elif row.status != Status.WITHDRAWN:  # withdrawing twice changes nothing
                _refuse_closed(row)
                await repo.change(conn, row, {"status": Status.WITHDRAWN.value}, now)
                await self._guard.trail.record(
                    conn, actor, "withdraw", [access(row)], reason=reason
                )
                after = await repo.load(conn, row.id)
                by = "staff" if actor.is_staff else "person"
                await record(conn, waitlist_event("withdrawn", after, now, by=by))
            row = await repo.load(conn, row.id)
            return row, await standing_of(conn, row, now, self.policy)

    async def _set_preferences(
        self, conn: AsyncConnection, actor: Actor, row: Any, prefs: Preferences, now: datetime
    ) -> None:
        _refuse_closed(row)
        given = prefs.values
        values: dict[str, Any] = {}
        if "preferred_practitioner" in given:
            service = self._catalog.services.get(row.service)
            found = checks.practitioner_problems(service, given["preferred_practitioner"])
            if found:
                raise invalid(found)
            values["preferred_practitioner"] = given["preferred_practitioner"]
        if "interest_level" in given:
            values["interest_level"] = given["interest_level"]
        if "preferred_times" in given:
            values["preferred_times"] = [w.as_dict() for w in given["preferred_times"]]
        if "channels" in given or "sms_consent" in given:
            has_email, has_phone = row.email_enc is not None, row.phone_enc is not None
            values["channels"] = checks.channel_values(
                row.channels or {}, given, has_email, has_phone, now
            )
        await repo.change(conn, row, values, now)
        await self._guard.trail.record(conn, actor, "update", [access(row)])


def _by_token(token: str) -> Finder:
    async def find(conn: AsyncConnection) -> Row[Any] | None:
        return await repo.load_by_token(conn, checks.token_hash(token), lock=True)

    return find


def _by_id(entry_id: str) -> Finder:
    async def find(conn: AsyncConnection) -> Row[Any] | None:
        return await repo.load(conn, entry_id, lock=True)

    return find


def _missing(entry_id: str) -> EntryNotFound:
    return EntryNotFound(f"no waitlist entry {entry_id!r}")


def _refuse_closed(row: Any) -> None:
    if row.status not in CHANGEABLE:
        raise EntryClosed(
            f"this entry is {row.status} and has left the waitlist, so it cannot change; "
            "join again for a new entry",
            entry_status=row.status,
        )
