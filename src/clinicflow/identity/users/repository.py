"""The sign-in back-off, stored per (account name, client network) and per account.

An attempt is charged *before* the password is checked and refunded only by a success, in
one transaction of atomic updates that also refuse the attempt while a counter is waiting:
parallel attempts are counted one by one, so a burst gets exactly the free attempts and no
more. The pair's counter always applies; the account's counter applies only to networks
the account has not signed in from within `known_for` (see `domain/backoff.py`), so the
owner's usual place is never locked out by strangers. The name is the one typed, whether or
not an account has it, so existing and missing accounts run the same statements, back off
alike, and the answers cannot tell them apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Table, and_, case, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.domain.backoff import BackoffPolicy, SignInLimits
from clinicflow.identity.tables import signin_account, signin_backoff, signin_known
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database, insert_ignoring_duplicates
from clinicflow.shared.client_network import client_network
from clinicflow.shared.errors import DomainError

KNOWN_CONTEXT = "identity_signin_known.network"


class SignInBackoff(DomainError):
    code = "sign_in_backoff"
    status = 429
    title = "Too many failed sign-ins"


@dataclass(frozen=True, slots=True)
class Charge:
    """One counted attempt: what a success must refund."""

    username: str
    network: str
    network_hash: str
    account_charged: bool  # false from a known network: the account budget was not touched


class BackoffStore:
    def __init__(self, db: Database, limits: SignInLimits, keys: KeyRing) -> None:
        self._db = db
        self.limits = limits
        self._keys = keys

    async def charge(self, username: str, address: str | None, now: datetime) -> Charge:
        """Count one attempt, or raise `SignInBackoff` while the network or the account must
        wait. A refusal counts nothing (the transaction rolls back)."""
        name, network = _name(username), client_network(address)
        hashed = self._keys.blind_index(f"{name}\x00{network}", context=KNOWN_CONTEXT)
        async with self._db.write() as conn:
            pair = {"username": name, "address": network}
            until = await _count(conn, signin_backoff, pair, self.limits.address, now)
            if until is not None:
                raise _refusal(until, now, "from your network")
            known = await self._known(conn, name, hashed, now)
            if not known:
                account = {"username": name}
                until = await _count(conn, signin_account, account, self.limits.account, now)
                if until is not None:
                    raise _refusal(until, now, "from networks it has not signed in from lately")
        return Charge(name, network, hashed, account_charged=not known)

    async def succeeded(self, conn: AsyncConnection, charge: Charge, now: datetime) -> None:
        """A success: the network's attempts are forgiven, its own charge to the account is
        refunded (other networks' are not), and the network becomes known for the account."""
        await conn.execute(delete(signin_backoff).where(*_pair(charge.username, charge.network)))
        if charge.account_charged:
            a = signin_account.c
            await conn.execute(
                update(signin_account)
                .where(a.username == charge.username, a.attempts > 0)
                .values(attempts=a.attempts - 1)
            )
        row = {"username": charge.username, "network_hash": charge.network_hash}
        await insert_ignoring_duplicates(conn, signin_known, [{**row, "signed_in_at": now}])
        k = signin_known.c
        await conn.execute(
            update(signin_known)
            .where(k.username == row["username"], k.network_hash == row["network_hash"])
            .values(signed_in_at=now)
        )

    async def prune(self, now: datetime) -> int:
        """Forget counters quiet for longer than the policy remembers, and old known places."""
        limits = self.limits
        async with self._db.write() as conn:
            done = [
                await conn.execute(
                    delete(signin_backoff).where(
                        signin_backoff.c.updated_at < now - limits.address.forget_after
                    )
                ),
                await conn.execute(
                    delete(signin_account).where(
                        signin_account.c.updated_at < now - limits.account.forget_after
                    )
                ),
                await conn.execute(
                    delete(signin_known).where(signin_known.c.signed_in_at < now - limits.known_for)
                ),
            ]
        return sum(int(d.rowcount or 0) for d in done)

    async def _known(self, conn: AsyncConnection, name: str, hashed: str, now: datetime) -> bool:
        k = signin_known.c
        recent = and_(
            k.username == name,
            k.network_hash == hashed,
            k.signed_in_at >= now - self.limits.known_for,
        )
        return bool((await conn.execute(select(exists().where(recent)))).scalar())


async def _count(
    conn: AsyncConnection,
    table: Table,
    key: Mapping[str, str],
    policy: BackoffPolicy,
    now: datetime,
) -> datetime | None:
    """Count one attempt on the counter row `key` of `table`; when it is waiting, count
    nothing and return until when. One conditional UPDATE … RETURNING: parallel attempts
    are counted one by one on PostgreSQL (row lock) and SQLite (one writer)."""
    c = table.c
    match = [c[column] == value for column, value in key.items()]
    await insert_ignoring_duplicates(conn, table, [{**key, "attempts": 0, "updated_at": now}])
    stale = c.updated_at < now - policy.forget_after
    counted = (
        await conn.execute(
            update(table)
            .where(*match, or_(c.blocked_until.is_(None), c.blocked_until <= now))
            .values(attempts=case((stale, 1), else_=c.attempts + 1), updated_at=now)
            .returning(c.attempts)
        )
    ).scalar_one_or_none()
    if counted is None:
        until: datetime = (await conn.execute(select(c.blocked_until).where(*match))).scalar_one()
        return until
    wait = policy.wait_after(counted)
    if wait is not None:  # the row is still locked by the update above
        await conn.execute(update(table).where(*match).values(blocked_until=now + wait))
    return None


def _name(username: str) -> str:
    return username.strip().lower()[:64]


def _pair(name: str, network: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (signin_backoff.c.username == name, signin_backoff.c.address == network)


def _refusal(until: datetime, now: datetime, where: str) -> SignInBackoff:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return SignInBackoff(
        f"too many failed sign-ins for this account {where}; try again in {seconds} seconds",
        retry_after=seconds,
    )
