"""Patients sign in with a one-time link sent to the email on their record.

The request answers the same whether or not the email is known (no account discovery), and
as fast: the email goes out after the answer. A
link is short-lived and used once: redeeming it is a conditional update that only one
request can win, even when two arrive together.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.mailer import Mailer
from clinicflow.identity.secrets_ import digest, new_token
from clinicflow.identity.sessions import OpenSession, SessionStore
from clinicflow.identity.tables import login_links
from clinicflow.infra.db import Database
from clinicflow.infra.logging import get_logger
from clinicflow.shared.clock import Clock

log = get_logger(__name__)
PREFIX = "cfl_"


class PatientFinder(Protocol):
    async def find_by_email(self, conn: AsyncConnection, email: str) -> str | None: ...


class PatientLinks:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        patients: PatientFinder,
        sessions: SessionStore,
        mailer: Mailer,
        *,
        lifetime: timedelta,
        public_url: str,
        clinic_name: str,
    ) -> None:
        self._db = db
        self._clock = clock
        self._patients = patients
        self._sessions = sessions
        self._mailer = mailer
        self._lifetime = lifetime
        self._public_url = public_url.rstrip("/")
        self._clinic = clinic_name

    async def request(self, email: str) -> Callable[[], Awaitable[None]] | None:
        """`email` normalized. A link for the patient who has it, if any; what remains is
        the sending, which the caller runs after answering, so that neither the answer nor
        its timing says whether there was a match."""
        now = self._clock.now()
        token = new_token(PREFIX)
        async with self._db.write() as conn:
            patient_id = await self._patients.find_by_email(conn, email)
            if patient_id is None:
                return None
            await conn.execute(
                insert(login_links).values(
                    token_hash=digest(token),
                    patient_id=patient_id,
                    created_at=now,
                    expires_at=now + self._lifetime,
                )
            )
        return functools.partial(self._send, email, token)

    async def _send(self, email: str, token: str) -> None:
        minutes = int(self._lifetime.total_seconds() // 60)
        text = (
            f"Hello,\n\nUse this link to see and manage your visits at {self._clinic}. "
            f"It works once, for {minutes} minutes:\n\n"
            f"{self._public_url}/sign-in?token={token}\n\n"
            "If you did not ask for it, ignore this message; nothing changes.\n"
        )
        try:
            await self._mailer.send(email, f"Your sign-in link for {self._clinic}", text)
        except Exception as exc:  # sent after the answer: nothing to tell the caller
            log.error("signin_link_not_delivered", error=type(exc).__name__)

    async def redeem(self, token: str) -> tuple[OpenSession, str]:
        """A patient session (and the patient id) for an unused, unexpired link."""
        now = self._clock.now()
        key = digest(token)
        c = login_links.c
        async with self._db.write() as conn:
            won = await conn.execute(
                update(login_links)
                .where(c.token_hash == key, c.used_at.is_(None), c.expires_at > now)
                .values(used_at=now)
            )
            if won.rowcount != 1:
                row = (await conn.execute(select(c.used_at).where(c.token_hash == key))).first()
                if row is None:
                    raise TokenInvalid("unknown sign-in link; ask for a new one")
                if row.used_at is not None:
                    raise TokenInvalid("this sign-in link was already used; ask for a new one")
                raise TokenInvalid("this sign-in link has expired; ask for a new one")
            patient_id = (
                await conn.execute(select(c.patient_id).where(c.token_hash == key))
            ).scalar_one()
            opened = await self._sessions.open(conn, patient_id=patient_id)
        return opened, str(patient_id)
