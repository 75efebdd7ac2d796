"""Staff accounts: argon2 passwords, TOTP (required for admins), a back-off per network and
per account after failures (`signin_backoff`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity import totp
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.passwords import Passwords, check_password_policy
from clinicflow.identity.sessions import OpenSession, SessionStore
from clinicflow.identity.signin_backoff import BackoffStore
from clinicflow.identity.tables import users
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.logging import get_logger
from clinicflow.shared.actor import STAFF_ROLES, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Conflict, DomainError, InvalidRequest

log = get_logger(__name__)
TOTP_CONTEXT = "identity_user.totp_secret"


class SecondFactorRequired(DomainError):
    code = "totp_required"
    status = 401
    title = "Second factor required"


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    username: str
    role: str
    practitioner: str | None
    active: bool
    totp_enrolled: bool
    created_at: datetime
    last_login_at: datetime | None
    failed_logins: int  # failed sign-ins since the last success, from any address

    @classmethod
    def of(cls, row: Any) -> UserView:
        return cls(
            row.id,
            row.username,
            row.role,
            row.practitioner,
            bool(row.active),
            row.totp_secret_enc is not None,
            row.created_at,
            row.last_login_at,
            int(row.failed_logins),
        )


@dataclass(frozen=True, slots=True)
class NewUser:
    user: UserView
    totp_uri: str | None  # shown once, for the authenticator app


class UserService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        keys: KeyRing,
        sessions: SessionStore,
        practitioners: Collection[str],
        issuer_name: str,
        backoff: BackoffStore,
        *,
        passwords: Passwords,
    ) -> None:
        self._backoff = backoff
        self._db = db
        self._clock = clock
        self._keys = keys
        self._sessions = sessions
        self._practitioners = practitioners
        self._issuer_name = issuer_name
        self._passwords = passwords

    async def create(
        self,
        username: str,
        role: str,
        password: str,
        *,
        practitioner: str | None = None,
        with_totp: bool = False,
    ) -> NewUser:
        username = username.strip().lower()
        self._check_new(username, role, password, practitioner)
        now = self._clock.now()
        secret = totp.new_secret() if with_totp or role == Role.ADMIN else None
        user_id = str(uuid.uuid4())
        sealed = self._keys.encrypt(secret, context=TOTP_CONTEXT, row=user_id) if secret else None
        values = {
            "id": user_id,
            "username": username,
            "role": role,
            "practitioner": practitioner,
            "password_hash": self._passwords.hash(password),
            "totp_secret_enc": sealed,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with self._db.write() as conn:
                await conn.execute(insert(users).values(**values))
                row = (await conn.execute(select(users).where(users.c.id == values["id"]))).one()
        except IntegrityError as exc:
            raise Conflict(f"a user named {username!r} already exists; choose another") from exc
        uri = totp.provisioning_uri(secret, username, self._issuer_name) if secret else None
        return NewUser(UserView.of(row), uri)

    def _check_new(self, username: str, role: str, password: str, practitioner: str | None) -> None:
        problems = check_password_policy(password, username)
        if not username or len(username) > 64:
            problems.append("username: 1 to 64 characters")
        if role not in {r.value for r in STAFF_ROLES}:
            problems.append(f"role: one of {', '.join(sorted(r.value for r in STAFF_ROLES))}")
        if role == Role.PRACTITIONER and practitioner not in self._practitioners:
            problems.append(
                "practitioner: a practitioner account needs the key of their calendar in "
                f"config/clinic.yaml (one of {', '.join(sorted(self._practitioners))})"
            )
        if problems:
            raise InvalidRequest("; ".join(problems))

    async def login(
        self, username: str, password: str, code: str | None, *, address: str | None = None
    ) -> tuple[OpenSession, UserView]:
        """A session for the right password (and code). Every refusal before the password
        is known to be right answers the same whether or not the account exists."""
        name = username.strip().lower()
        now = self._clock.now()
        charge = await self._backoff.charge(name, address, now)
        async with self._db.read() as conn:
            row = (await conn.execute(select(users).where(users.c.username == name))).first()
        stored = row.password_hash if row is not None else self._passwords.dummy_hash
        right = self._passwords.verify(stored, password)  # same time either way
        if row is None or not right or not row.active:
            await self._failed(name, now)
            raise _wrong()
        step = self._second_factor(row, code, now)
        if step is None and row.totp_secret_enc is not None:
            await self._failed(name, now)
            raise TokenInvalid("the authenticator code is wrong or was already used")
        async with self._db.write() as conn:
            won = await self._signed_in(conn, row, password, step, now)
            if won:
                await self._backoff.succeeded(conn, charge, now)
                opened = await self._sessions.open(conn, user_id=row.id)
        if not won:  # a parallel sign-in used this code's step first
            await self._failed(name, now)
            raise TokenInvalid("the authenticator code is wrong or was already used")
        await self._backoff.prune(now)
        log.info("staff_signed_in", user_id=row.id, role=row.role)
        return opened, UserView.of(row)

    async def _signed_in(
        self, conn: AsyncConnection, row: Any, password: str, step: int | None, now: datetime
    ) -> bool:
        """Record the success; false when a parallel sign-in already used this TOTP step.

        The step is claimed by a conditional update, so of two requests with one code only
        one can match `totp_last_step < step`, on SQLite and PostgreSQL alike."""
        u = users.c
        changes: dict[str, Any] = {"failed_logins": 0, "last_login_at": now, "updated_at": now}
        query = update(users).where(u.id == row.id, u.active.is_(True))
        if step is not None:
            changes["totp_last_step"] = step
            changes["totp_confirmed_at"] = func.coalesce(u.totp_confirmed_at, now)
            query = query.where(or_(u.totp_last_step.is_(None), u.totp_last_step < step))
        if self._passwords.needs_rehash(row.password_hash):
            changes["password_hash"] = self._passwords.hash(password)
        done = await conn.execute(query.values(**changes))
        return bool(done.rowcount == 1)

    def _second_factor(self, row: Any, code: str | None, now: datetime) -> int | None:
        if row.totp_secret_enc is None:
            if row.role == Role.ADMIN:
                raise SecondFactorRequired(
                    "administrator accounts need a second factor; enrol one with "
                    f"`clinicflow users totp {row.username}`"
                )
            return None
        if not code:
            raise SecondFactorRequired("give the 6-digit code from your authenticator app")
        secret = self._keys.decrypt(row.totp_secret_enc, context=TOTP_CONTEXT, row=row.id)
        return totp.verify_code(secret, code, now, row.totp_last_step)

    async def _failed(self, name: str, now: datetime) -> None:
        # Counted in SQL, by name: parallel failures each add one, and a name with no
        # account costs the same statement (it matches no row).
        u = users.c
        async with self._db.write() as conn:
            await conn.execute(
                update(users)
                .where(u.username == name)
                .values(failed_logins=u.failed_logins + 1, updated_at=now)
            )
        log.warning("staff_signin_refused")

    async def enrol_totp(self, username: str) -> str:
        """A new TOTP secret for the user (replacing any old one); the URI is shown once."""
        secret = totp.new_secret()
        now = self._clock.now()
        async with self._db.write() as conn:
            found = (
                await conn.execute(
                    select(users.c.id).where(users.c.username == username.strip().lower())
                )
            ).scalar_one_or_none()
            if found is None:
                raise InvalidRequest(f"no user named {username!r}")
            await conn.execute(
                update(users)
                .where(users.c.id == found)
                .values(
                    # Bound to the user's row: a seed copied to another account does not open.
                    totp_secret_enc=self._keys.encrypt(secret, context=TOTP_CONTEXT, row=found),
                    totp_confirmed_at=None,
                    totp_last_step=None,
                    updated_at=now,
                )
            )
        return totp.provisioning_uri(secret, username, self._issuer_name)

    async def list(self) -> list[UserView]:
        async with self._db.read() as conn:
            rows = await conn.execute(select(users).order_by(users.c.username))
            return [UserView.of(r) for r in rows]

    async def reset_password(self, username: str, password: str) -> None:
        """Replace the user's password, zero the failure count, and end their open sessions
        (whoever held the old password is signed out). The back-offs stay (per network and
        the account's budget): they slow whoever guessed, and the guessing may go on."""
        username = username.strip().lower()
        problems = check_password_policy(password, username)
        if problems:
            raise InvalidRequest("; ".join(problems))
        hashed = self._passwords.hash(password)
        async with self._db.write() as conn:
            found = await conn.execute(select(users.c.id).where(users.c.username == username))
            row = found.first()
            if row is None:
                raise InvalidRequest(f"no user named {username!r}")
            await conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(
                    password_hash=hashed,
                    failed_logins=0,
                    updated_at=self._clock.now(),
                )
            )
            await self._sessions.revoke_user(conn, row.id)

    async def set_active(self, username: str, active: bool) -> None:
        async with self._db.write() as conn:
            row = (
                await conn.execute(select(users.c.id).where(users.c.username == username.lower()))
            ).first()
            if row is None:
                raise InvalidRequest(f"no user named {username!r}")
            await conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(active=active, updated_at=self._clock.now())
            )
            if not active:
                await self._sessions.revoke_user(conn, row.id)


def _wrong() -> TokenInvalid:
    return TokenInvalid("the username or password is wrong")
