"""Staff accounts and the sign-in back-off in SQL: rows in, frozen `User`s out.

The back-off's counters are charged *before* the password is checked and refunded only by a
success, in one transaction of atomic updates that also refuse the attempt while a counter
is waiting: parallel attempts are counted one by one (a row lock on PostgreSQL, the one
writer on SQLite), so a burst gets exactly the free attempts and no more. The counters are
kept by the name as typed, whether or not an account has it, so existing and missing
accounts run the same statements, back off alike, and the answers cannot tell them apart
(see `domain/backoff.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.tables import signin_account, signin_backoff, signin_known, users
from clinicflow.identity.users.domain.accounts import User
from clinicflow.identity.users.domain.backoff import BackoffPolicy
from clinicflow.identity.users.errors import UsernameTaken
from clinicflow.infra.columns import stored
from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.shared.records import from_attributes

_u = users.c
_Counter = Literal["network", "account"]
_COUNTERS = {"network": signin_backoff, "account": signin_account}


def _user(row: Row[tuple[object, ...]]) -> User:
    return from_attributes(User, row, active=bool(row.active), failed_logins=int(row.failed_logins))


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> None:
        try:
            await self._conn.execute(insert(users).values(stored(users, user)))
        except IntegrityError as exc:  # the unique username; the transaction is spoilt
            raise UsernameTaken(
                f"a user named {user.username!r} already exists; choose another"
            ) from exc

    async def named(self, username: str) -> User | None:
        row = (await self._conn.execute(select(users).where(_u.username == username))).first()
        return None if row is None else _user(row)

    async def all(self) -> list[User]:
        return [_user(r) for r in await self._conn.execute(select(users).order_by(_u.username))]

    async def record_sign_in(
        self, user_id: str, *, step: int | None, password_hash: str | None, now: datetime
    ) -> bool:
        # The step is claimed by a conditional update, so of two requests with one code only
        # one can match `totp_last_step < step`, on SQLite and PostgreSQL alike.
        changes: dict[str, object] = {"failed_logins": 0, "last_login_at": now, "updated_at": now}
        query = update(users).where(_u.id == user_id, _u.active.is_(True))
        if step is not None:
            changes["totp_last_step"] = step
            changes["totp_confirmed_at"] = func.coalesce(_u.totp_confirmed_at, now)
            query = query.where(or_(_u.totp_last_step.is_(None), _u.totp_last_step < step))
        if password_hash is not None:
            changes["password_hash"] = password_hash
        done = await self._conn.execute(query.values(changes))
        return bool(done.rowcount == 1)

    async def count_failure(self, username: str, now: datetime) -> None:
        # Counted in SQL, by name: parallel failures each add one, and a name with no
        # account costs the same statement (it matches no row).
        await self._conn.execute(
            update(users)
            .where(_u.username == username)
            .values(failed_logins=_u.failed_logins + 1, updated_at=now)
        )

    async def set_totp(self, user_id: str, sealed: str, now: datetime) -> None:
        await self._conn.execute(
            update(users)
            .where(_u.id == user_id)
            .values(
                totp_secret_enc=sealed,
                totp_confirmed_at=None,
                totp_last_step=None,
                updated_at=now,
            )
        )

    async def set_password(self, user_id: str, password_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(users)
            .where(_u.id == user_id)
            .values(password_hash=password_hash, failed_logins=0, updated_at=now)
        )

    async def set_active(self, user_id: str, active: bool, now: datetime) -> None:
        await self._conn.execute(
            update(users).where(_u.id == user_id).values(active=active, updated_at=now)
        )


class SqlSignInRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def count_network(
        self, username: str, network: str, policy: BackoffPolicy, now: datetime
    ) -> datetime | None:
        key = {"username": username, "address": network}
        return await self._count("network", key, policy, now)

    async def count_account(
        self, username: str, policy: BackoffPolicy, now: datetime
    ) -> datetime | None:
        return await self._count("account", {"username": username}, policy, now)

    async def known(self, username: str, network_hash: str, since: datetime) -> bool:
        k = signin_known.c
        recent = and_(
            k.username == username, k.network_hash == network_hash, k.signed_in_at >= since
        )
        return bool((await self._conn.execute(select(exists().where(recent)))).scalar())

    async def forgive_network(self, username: str, network: str) -> None:
        await self._conn.execute(delete(signin_backoff).where(*_pair(username, network)))

    async def refund_account(self, username: str) -> None:
        a = signin_account.c
        await self._conn.execute(
            update(signin_account)
            .where(a.username == username, a.attempts > 0)
            .values(attempts=a.attempts - 1)
        )

    async def remember(self, username: str, network_hash: str, now: datetime) -> None:
        row = {"username": username, "network_hash": network_hash, "signed_in_at": now}
        await insert_ignoring_duplicates(self._conn, signin_known, [row])
        k = signin_known.c
        await self._conn.execute(
            update(signin_known)
            .where(k.username == username, k.network_hash == network_hash)
            .values(signed_in_at=now)
        )

    async def prune(
        self, *, networks_before: datetime, accounts_before: datetime, known_before: datetime
    ) -> int:
        done = [
            await self._conn.execute(
                delete(signin_backoff).where(signin_backoff.c.updated_at < networks_before)
            ),
            await self._conn.execute(
                delete(signin_account).where(signin_account.c.updated_at < accounts_before)
            ),
            await self._conn.execute(
                delete(signin_known).where(signin_known.c.signed_in_at < known_before)
            ),
        ]
        return sum(int(d.rowcount or 0) for d in done)

    async def _count(
        self, counter: _Counter, key: Mapping[str, str], policy: BackoffPolicy, now: datetime
    ) -> datetime | None:
        """Count one attempt on the counter row `key`; when it is waiting, count nothing and
        return until when. One conditional UPDATE … RETURNING: parallel attempts are counted
        one by one on PostgreSQL (row lock) and SQLite (one writer)."""
        table = _COUNTERS[counter]
        c = table.c
        match = [c[column] == value for column, value in key.items()]
        fresh = {**key, "attempts": 0, "updated_at": now}
        await insert_ignoring_duplicates(self._conn, table, [fresh])
        stale = c.updated_at < now - policy.forget_after
        counted = (
            await self._conn.execute(
                update(table)
                .where(*match, or_(c.blocked_until.is_(None), c.blocked_until <= now))
                .values(attempts=case((stale, 1), else_=c.attempts + 1), updated_at=now)
                .returning(c.attempts)
            )
        ).scalar_one_or_none()
        if counted is None:
            blocked = select(c.blocked_until).where(*match)
            until: datetime = (await self._conn.execute(blocked)).scalar_one()
            return until
        wait = policy.wait_after(int(counted))
        if wait is not None:  # the row is still locked by the update above
            await self._conn.execute(update(table).where(*match).values(blocked_until=now + wait))
        return None


def _pair(name: str, network: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (signin_backoff.c.username == name, signin_backoff.c.address == network)
