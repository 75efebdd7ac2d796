"""The sessions' and sign-in links' repositories, as the use cases see them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.identity.sessions.domain.link import LoginLink
from clinicflow.identity.sessions.domain.session import Session


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def find(self, token_hash: str) -> Session | None:
        """With a staff session's account as it is now (role, practitioner, active)."""

    async def touch(self, token_hash: str, now: datetime) -> None:
        """Record activity: the idle timer starts again."""

    async def revoke(self, token_hash: str, now: datetime) -> None:
        """Signed out now, unless it already was."""

    async def revoke_user(self, user_id: str, now: datetime) -> None:
        """Every open session of the staff member, signed out now."""


class LinkRepository(Protocol):
    async def add(self, link: LoginLink) -> None: ...

    async def claim(self, token_hash: str, now: datetime) -> str | None:
        """Mark the link used if it is unused and unexpired, in one conditional update that
        only one request can win; the patient's id, or None when it was not redeemable."""

    async def find(self, token_hash: str) -> LoginLink | None: ...
