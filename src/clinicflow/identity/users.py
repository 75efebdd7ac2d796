"""Staff accounts: argon2 passwords, TOTP (required for admins), lockout after failures."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from clinicflow.identity import totp
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.passwords import Passwords, check_password_policy
from clinicflow.identity.sessions import OpenSession, SessionStore
from clinicflow.identity.tables import users
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.shared.actor import STAFF_ROLES, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Conflict, DomainError, InvalidRequest

log = logging.getLogger(__name__)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
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
        *,
        passwords: Passwords,
    ) -> None:
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
        values = {
            "id": str(uuid.uuid4()),
            "username": username,
            "role": role,
            "practitioner": practitioner,
            "password_hash": self._passwords.hash(password),
            "totp_secret_enc": self._keys.encrypt(secret, context=TOTP_CONTEXT) if secret else None,
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
        self, username: str, password: str, code: str | None
    ) -> tuple[OpenSession, UserView]:
        now = self._clock.now()
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(users).where(users.c.username == username.strip().lower())
                )
            ).first()
        if row is None:
            self._passwords.verify(self._passwords.dummy_hash, password)  # same time either way
            raise _wrong()
        if row.locked_until is not None and row.locked_until > now:
            raise TokenInvalid(
                "too many failed sign-ins; try again after "
                f"{row.locked_until.isoformat(timespec='minutes')} or ask an administrator"
            )
        if not self._passwords.verify(row.password_hash, password) or not row.active:
            await self._failed(row, now)
            raise _wrong()
        step = self._second_factor(row, code, now)
        if step is None and row.totp_secret_enc is not None:
            await self._failed(row, now)
            raise TokenInvalid("the authenticator code is wrong or was already used")
        async with self._db.write() as conn:
            changes: dict[str, Any] = {
                "failed_logins": 0,
                "locked_until": None,
                "last_login_at": now,
            }
            if step is not None:
                changes |= {
                    "totp_last_step": step,
                    "totp_confirmed_at": row.totp_confirmed_at or now,
                }
            if self._passwords.needs_rehash(row.password_hash):
                changes["password_hash"] = self._passwords.hash(password)
            await conn.execute(update(users).where(users.c.id == row.id).values(**changes))
            opened = await self._sessions.open(conn, user_id=row.id)
        log.info("staff sign-in", extra={"user_id": row.id, "role": row.role})
        return opened, UserView.of(row)

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
        secret = self._keys.decrypt(row.totp_secret_enc, context=TOTP_CONTEXT)
        return totp.verify_code(secret, code, now, row.totp_last_step)

    async def _failed(self, row: Any, now: datetime) -> None:
        # A lockout that has run its course starts the count again.
        lapsed = row.locked_until is not None and row.locked_until <= now
        failures = (0 if lapsed else row.failed_logins) + 1
        locked = now + LOCKOUT if failures >= MAX_FAILURES else None
        async with self._db.write() as conn:
            await conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(failed_logins=failures, locked_until=locked, updated_at=now)
            )
        log.warning("staff sign-in refused", extra={"user_id": row.id, "failures": failures})

    async def enrol_totp(self, username: str) -> str:
        """A new TOTP secret for the user (replacing any old one); the URI is shown once."""
        secret = totp.new_secret()
        now = self._clock.now()
        async with self._db.write() as conn:
            done = await conn.execute(
                update(users)
                .where(users.c.username == username.strip().lower())
                .values(
                    totp_secret_enc=self._keys.encrypt(secret, context=TOTP_CONTEXT),
                    totp_confirmed_at=None,
                    totp_last_step=None,
                    updated_at=now,
                )
            )
        if done.rowcount != 1:
            raise InvalidRequest(f"no user named {username!r}")
        return totp.provisioning_uri(secret, username, self._issuer_name)

    async def list(self) -> list[UserView]:
        async with self._db.read() as conn:
            rows = await conn.execute(select(users).order_by(users.c.username))
            return [UserView.of(r) for r in rows]

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
