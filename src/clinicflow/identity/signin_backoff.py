"""The sign-in back-off, stored per (account name, client address).

An attempt is charged *before* the password is checked and refunded only by a success, in
one atomic update that also refuses the attempt while the pair is waiting: parallel
attempts are counted one by one, so a burst gets exactly the free attempts and no more.
The name is the one typed, whether or not an account has it, so existing and missing
accounts back off alike and the answers cannot tell them apart.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import ColumnElement, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.domain.backoff import BackoffPolicy
from clinicflow.identity.tables import signin_backoff
from clinicflow.infra.db import Database, insert_ignoring_duplicates
from clinicflow.shared.errors import DomainError

UNKNOWN_ADDRESS = "unknown"


class SignInBackoff(DomainError):
    code = "sign_in_backoff"
    status = 429
    title = "Too many failed sign-ins"


class BackoffStore:
    def __init__(self, db: Database, policy: BackoffPolicy) -> None:
        self._db = db
        self.policy = policy

    async def charge(self, username: str, address: str | None, now: datetime) -> None:
        """Count one attempt for the pair, or raise `SignInBackoff` while it must wait."""
        key = _key(username, address)
        b = signin_backoff.c
        async with self._db.write() as conn:
            row = dict(zip(("username", "address"), key, strict=True))
            await insert_ignoring_duplicates(
                conn, signin_backoff, [{**row, "attempts": 0, "updated_at": now}]
            )
            stale = b.updated_at < now - self.policy.forget_after
            counted = (
                await conn.execute(
                    update(signin_backoff)
                    .where(*_match(key), or_(b.blocked_until.is_(None), b.blocked_until <= now))
                    .values(attempts=case((stale, 1), else_=b.attempts + 1), updated_at=now)
                    .returning(b.attempts)
                )
            ).scalar_one_or_none()
            if counted is None:
                until = (
                    await conn.execute(select(b.blocked_until).where(*_match(key)))
                ).scalar_one()
                raise _refusal(until, now)
            wait = self.policy.wait_after(counted)
            if wait is not None:  # the row is still locked by the update above
                await conn.execute(
                    update(signin_backoff).where(*_match(key)).values(blocked_until=now + wait)
                )

    async def clear(self, conn: AsyncConnection, username: str, address: str | None) -> None:
        """A success from this address: its attempts are forgiven (other addresses' are not)."""
        await conn.execute(delete(signin_backoff).where(*_match(_key(username, address))))

    async def prune(self, now: datetime) -> int:
        """Forget pairs quiet for longer than the policy remembers."""
        cutoff = now - self.policy.forget_after
        async with self._db.write() as conn:
            done = await conn.execute(
                delete(signin_backoff).where(signin_backoff.c.updated_at < cutoff)
            )
        return int(done.rowcount or 0)


def _key(username: str, address: str | None) -> tuple[str, str]:
    return username.strip().lower()[:64], (address or UNKNOWN_ADDRESS)[:64]


def _match(key: tuple[str, str]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (signin_backoff.c.username == key[0], signin_backoff.c.address == key[1])


def _refusal(until: datetime | None, now: datetime) -> SignInBackoff:
    seconds = max(1, math.ceil((until - now).total_seconds())) if until else 1
    return SignInBackoff(
        "too many failed sign-ins for this account from your address; "
        f"try again in {seconds} seconds",
        retry_after=seconds,
    )
