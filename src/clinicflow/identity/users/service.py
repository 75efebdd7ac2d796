"""Staff accounts: argon2 passwords, TOTP (required for admins), a back-off per network and
per account after failures (`domain/backoff.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.ports import IdentityUnitOfWork
from clinicflow.identity.sessions.service import SessionStore
from clinicflow.identity.sessions.views import OpenSession
from clinicflow.identity.users.domain import totp
from clinicflow.identity.users.domain.accounts import (
    User,
    account_problems,
    needs_second_factor,
    normalize,
)
from clinicflow.identity.users.domain.backoff import (
    Charge,
    SignInLimits,
    counter_name,
    wait_seconds,
)
from clinicflow.identity.users.domain.passwords import Passwords, check_password_policy
from clinicflow.identity.users.errors import SecondFactorRequired, SignInBackoff
from clinicflow.identity.users.ports import SignInRepository
from clinicflow.identity.users.views import NewUser, UserView
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Role
from clinicflow.shared.client_network import client_network
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

log = get_logger(__name__)
TOTP_CONTEXT = "identity_user.totp_secret"
KNOWN_CONTEXT = "identity_signin_known.network"


@dataclass(kw_only=True, eq=False)
class UserService:
    uow: UnitsOfWork[IdentityUnitOfWork]
    clock: Clock
    keys: KeyRing
    sessions: SessionStore
    practitioners: Collection[str]
    issuer_name: str
    limits: SignInLimits
    passwords: Passwords

    async def create(
        self,
        username: str,
        role: str,
        password: str,
        *,
        practitioner: str | None = None,
        with_totp: bool = False,
    ) -> NewUser:
        username = normalize(username)
        problems = account_problems(username, role, password, practitioner, self.practitioners)
        if problems:
            raise InvalidRequest("; ".join(problems))
        now = self.clock.now()
        secret = totp.new_secret() if needs_second_factor(role, with_totp) else None
        user_id = str(uuid.uuid4())
        user = User(
            id=user_id,
            username=username,
            role=role,
            practitioner=practitioner,
            password_hash=self.passwords.hash(password),
            # Bound to the user's row: a seed copied to another account does not open.
            totp_secret_enc=self._seal(secret, user_id) if secret else None,
            totp_confirmed_at=None,
            totp_last_step=None,
            active=True,
            failed_logins=0,
            last_login_at=None,
            created_at=now,
            updated_at=now,
        )
        async with self.uow() as uow:
            await uow.users.add(user)  # UsernameTaken (409) when the name is an account's
            await uow.commit()
        uri = totp.provisioning_uri(secret, username, self.issuer_name) if secret else None
        return NewUser(UserView.of(user), uri)

    async def login(
        self, username: str, password: str, code: str | None, *, address: str | None = None
    ) -> tuple[OpenSession, UserView]:
        """A session for the right password (and code). Every refusal before the password
        is known to be right answers the same whether or not the account exists."""
        name = normalize(username)
        now = self.clock.now()
        charge = await self._charge(name, address, now)
        async with self.uow.reading() as uow:
            user = await uow.users.named(name)
        stored = user.password_hash if user is not None else self.passwords.dummy_hash
        right = self.passwords.verify(stored, password)  # same time either way
        if user is None or not right or not user.active:
            await self._failed(name, now)
            raise TokenInvalid("the username or password is wrong")
        step = self._second_factor(user, code, now)
        if step is None and user.totp_enrolled:
            await self._failed(name, now)
            raise TokenInvalid("the authenticator code is wrong or was already used")
        rehashed = self.passwords.hash(password) if self.passwords.needs_rehash(stored) else None
        async with self.uow() as uow:
            won = await uow.users.record_sign_in(
                user.id, step=step, password_hash=rehashed, now=now
            )
            if won:
                await self._succeeded(uow.signins, charge, now)
                opened = await self.sessions.start(uow.sessions, user_id=user.id)
                await uow.commit()
        if not won:  # a parallel sign-in used this code's step first
            await self._failed(name, now)
            raise TokenInvalid("the authenticator code is wrong or was already used")
        await self.prune(now)
        log.info("staff_signed_in", user_id=user.id, role=user.role)
        return opened, UserView.of(user)

    def _second_factor(self, user: User, code: str | None, now: datetime) -> int | None:
        if user.totp_secret_enc is None:
            if user.role == Role.ADMIN:
                raise SecondFactorRequired(
                    "administrator accounts need a second factor; enrol one with "
                    f"`clinicflow users totp {user.username}`"
                )
            return None
        if not code:
            raise SecondFactorRequired("give the 6-digit code from your authenticator app")
        secret = self.keys.decrypt(user.totp_secret_enc, context=TOTP_CONTEXT, row=user.id)
        return totp.verify_code(secret, code, now, user.totp_last_step)

    async def _failed(self, name: str, now: datetime) -> None:
        async with self.uow() as uow:
            await uow.users.count_failure(name, now)
            await uow.commit()
        log.warning("staff_signin_refused")

    async def enrol_totp(self, username: str) -> str:
        """A new TOTP secret for the user (replacing any old one); the URI is shown once."""
        secret = totp.new_secret()
        async with self.uow() as uow:
            user = await self._named(uow, username)
            await uow.users.set_totp(user.id, self._seal(secret, user.id), self.clock.now())
            await uow.commit()
        return totp.provisioning_uri(secret, username, self.issuer_name)

    async def list(self) -> list[UserView]:
        async with self.uow.reading() as uow:
            return [UserView.of(u) for u in await uow.users.all()]

    async def reset_password(self, username: str, password: str) -> None:
        """Replace the user's password, zero the failure count, and end their open sessions
        (whoever held the old password is signed out). The back-offs stay (per network and
        the account's budget): they slow whoever guessed, and the guessing may go on."""
        username = normalize(username)
        problems = check_password_policy(password, username)
        if problems:
            raise InvalidRequest("; ".join(problems))
        hashed = self.passwords.hash(password)
        now = self.clock.now()
        async with self.uow() as uow:
            user = await self._named(uow, username)
            await uow.users.set_password(user.id, hashed, now)
            await uow.sessions.revoke_user(user.id, now)
            await uow.commit()

    async def set_active(self, username: str, active: bool) -> None:
        """Enable or disable the account; disabling ends its open sessions."""
        now = self.clock.now()
        async with self.uow() as uow:
            user = await self._named(uow, username)
            await uow.users.set_active(user.id, active, now)
            if not active:
                await uow.sessions.revoke_user(user.id, now)
            await uow.commit()

    async def _named(self, uow: IdentityUnitOfWork, username: str) -> User:
        user = await uow.users.named(normalize(username))
        if user is None:
            raise InvalidRequest(f"no user named {username!r}")
        return user

    def _seal(self, secret: str, user_id: str) -> str:
        return self.keys.encrypt(secret, context=TOTP_CONTEXT, row=user_id)

    # -- the sign-in back-off -------------------------------------------------------------

    async def _charge(self, username: str, address: str | None, now: datetime) -> Charge:
        """Count one attempt, or raise `SignInBackoff` while the network or the account must
        wait. A refusal counts nothing (the transaction rolls back). The pair's counter
        always applies; the account's only from networks it has not signed in from lately,
        so strangers never lock the owner out of their usual place."""
        name, network = counter_name(username), client_network(address)
        hashed = self.keys.blind_index(f"{name}\x00{network}", context=KNOWN_CONTEXT)
        limits = self.limits
        async with self.uow() as uow:
            until = await uow.signins.count_network(name, network, limits.address, now)
            if until is not None:
                raise _refusal(until, now, "from your network")
            known = await uow.signins.known(name, hashed, now - limits.known_for)
            if not known:
                until = await uow.signins.count_account(name, limits.account, now)
                if until is not None:
                    raise _refusal(until, now, "from networks it has not signed in from lately")
            await uow.commit()
        return Charge(name, network, hashed, account_charged=not known)

    async def _succeeded(self, signins: SignInRepository, charge: Charge, now: datetime) -> None:
        """A success: the network's attempts are forgiven, its own charge to the account is
        refunded (other networks' are not), and the network becomes known for the account."""
        await signins.forgive_network(charge.username, charge.network)
        if charge.account_charged:
            await signins.refund_account(charge.username)
        await signins.remember(charge.username, charge.network_hash, now)

    async def prune(self, now: datetime) -> int:
        """Forget counters quiet for longer than the policy remembers, and old known places."""
        limits = self.limits
        async with self.uow() as uow:
            pruned = await uow.signins.prune(
                networks_before=now - limits.address.forget_after,
                accounts_before=now - limits.account.forget_after,
                known_before=now - limits.known_for,
            )
            await uow.commit()
        return pruned


def _refusal(until: datetime, now: datetime, where: str) -> SignInBackoff:
    seconds = wait_seconds(until, now)
    return SignInBackoff(
        f"too many failed sign-ins for this account {where}; try again in {seconds} seconds",
        retry_after=seconds,
    )
