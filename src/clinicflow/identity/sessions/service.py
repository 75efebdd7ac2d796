"""Server-side sessions for staff (after password and TOTP) and patients (after a one-time
link), and the links themselves.

A patient's link request answers the same whether or not the email is known (no account
discovery), and as fast: the email goes out after the answer. A link is short-lived and used
once: redeeming it is a conditional update that only one request can win, even when two
arrive together.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from clinicflow.identity.domain.tokens import digest, new_token
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.ports import IdentityUnitOfWork, Mailer
from clinicflow.identity.sessions.domain import link as links
from clinicflow.identity.sessions.domain.session import PREFIX, Session, should_touch
from clinicflow.identity.sessions.ports import SessionRepository
from clinicflow.identity.sessions.views import OpenSession, SessionOwner
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock

log = get_logger(__name__)


@dataclass(kw_only=True, eq=False)
class SessionStore:
    uow: UnitsOfWork[IdentityUnitOfWork]
    clock: Clock
    idle: timedelta
    lifetime: timedelta

    async def start(
        self,
        sessions: SessionRepository,
        *,
        user_id: str | None = None,
        patient_id: str | None = None,
    ) -> OpenSession:
        """A new session for the staff member or the patient, in the caller's transaction."""
        now = self.clock.now()
        token = new_token(PREFIX)
        expires = now + self.lifetime
        await sessions.add(
            Session(
                token_hash=digest(token),
                kind="staff" if user_id else "patient",
                user_id=user_id,
                patient_id=patient_id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
            )
        )
        return OpenSession(token, expires)

    async def open_for_patient(self, patient_id: str) -> OpenSession:
        """A patient session on its own (the CLI and tests; patients sign in by link)."""
        async with self.uow() as uow:
            opened = await self.start(uow.sessions, patient_id=patient_id)
            await uow.commit()
        return opened

    async def resolve(self, token: str) -> SessionOwner:
        """Who the session acts for, refused once it is idle, expired, revoked, or its staff
        account disabled. Activity is recorded at most once a minute (it costs a write)."""
        now = self.clock.now()
        key = digest(token)
        async with self.uow.reading() as uow:
            found = await uow.sessions.find(key)
        if found is None:
            raise TokenInvalid("unknown session; sign in again")
        refused = found.refusal(self.idle, now)
        if refused is not None:
            raise TokenInvalid(refused)
        if should_touch(found.last_seen_at, now):
            async with self.uow() as uow:
                await uow.sessions.touch(key, now)
                await uow.commit()
        return SessionOwner(
            found.kind, found.user_id, found.role, found.practitioner, found.patient_id
        )

    async def revoke(self, token: str) -> None:
        async with self.uow() as uow:
            await uow.sessions.revoke(digest(token), self.clock.now())
            await uow.commit()


@dataclass(kw_only=True, eq=False)
class PatientLinks:
    uow: UnitsOfWork[IdentityUnitOfWork]
    clock: Clock
    sessions: SessionStore
    mailer: Mailer
    lifetime: timedelta
    public_url: str
    clinic_name: str

    async def request(
        self, email: str, then: str | None = None
    ) -> Callable[[], Awaitable[None]] | None:
        """`email` normalized. A link for the patient who has it, if any; what remains is
        the sending, which the caller runs after answering, so that neither the answer nor
        its timing says whether there was a match. `then`: the page of the patient's area
        the link leads on to (links.local_page; anything else is left out)."""
        now = self.clock.now()
        token = new_token(links.PREFIX)
        async with self.uow() as uow:
            patient_id = await uow.patients.find_by_email(email)
            if patient_id is None:
                return None
            link = links.LoginLink(digest(token), patient_id, now, now + self.lifetime)
            await uow.links.add(link)
            await uow.commit()
        return functools.partial(self._send, email, token, then)

    async def _send(self, email: str, token: str, then: str | None) -> None:
        subject, text = links.message(self.clinic_name, self.public_url, token, self.lifetime, then)
        try:
            await self.mailer.send(email, subject, text)
        except Exception as exc:  # sent after the answer: nothing to tell the caller
            log.error("signin_link_not_delivered", error=type(exc).__name__)

    async def redeem(self, token: str) -> tuple[OpenSession, str]:
        """A patient session (and the patient id) for an unused, unexpired link."""
        now = self.clock.now()
        key = digest(token)
        async with self.uow() as uow:
            patient_id = await uow.links.claim(key, now)
            if patient_id is None:
                raise TokenInvalid(links.refusal(await uow.links.find(key)))
            opened = await self.sessions.start(uow.sessions, patient_id=patient_id)
            await uow.commit()
        return opened, patient_id
