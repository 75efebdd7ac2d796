"""Identity's unit of work in memory: the same repositories as `identity/*/repository.py`,
over dictionaries, for use-case tests in milliseconds.

Each fake repository keeps the rule its SQL keeps (the conditional updates: a TOTP step
claimed once, a link redeemed once, a back-off counter refusing while it waits, failures
counted by name); the races themselves are the database's and are tested against it
(tests/integration/test_identity_signin_*.py). State is shared by every unit of work of one
`FakeIdentity`, snapshotted on enter and put back when a block ends without `commit()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from clinicflow.identity.api_keys.domain.keys import ApiKey
from clinicflow.identity.api_keys.service import ApiKeys
from clinicflow.identity.oauth.domain.jwt_keys import SealedSigningKey
from clinicflow.identity.oauth.service import TokenService
from clinicflow.identity.sessions.domain.link import LoginLink
from clinicflow.identity.sessions.domain.session import Session
from clinicflow.identity.sessions.service import PatientLinks, SessionStore
from clinicflow.identity.users.domain.accounts import User
from clinicflow.identity.users.domain.backoff import BackoffPolicy, SignInLimits
from clinicflow.identity.users.domain.passwords import Passwords
from clinicflow.identity.users.errors import UsernameTaken
from clinicflow.identity.users.service import UserService
from clinicflow.infra.crypto import KeyRing
from clinicflow.shared.clock import FixedClock
from support.fake_tables import OnTables, Repository, TablesTransaction
from support.fake_uow import FakeFactory, Ledger

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
PRACTITIONERS = frozenset({"doctor1", "doctor2"})


@dataclass(frozen=True, slots=True)
class Counter:
    attempts: int
    blocked_until: datetime | None
    updated_at: datetime


@dataclass
class IdentityState:
    """Identity's tables, as dictionaries of frozen values."""

    users: dict[str, User] = field(default_factory=dict)  # by id
    networks: dict[tuple[str, str], Counter] = field(default_factory=dict)  # (name, network)
    accounts: dict[str, Counter] = field(default_factory=dict)  # by name
    known: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (name, hash)
    sessions: dict[str, Session] = field(default_factory=dict)  # by token hash
    links: dict[str, LoginLink] = field(default_factory=dict)  # by token hash
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    signing_keys: dict[str, tuple[SealedSigningKey, datetime | None]] = field(
        default_factory=dict
    )  # by kid: the key and when it was retired
    patients: dict[str, str] = field(default_factory=dict)  # email → patient id


class FakeUserRepository(OnTables[IdentityState]):
    async def add(self, user: User) -> None:
        if any(u.username == user.username for u in self._t.users.values()):
            raise UsernameTaken(f"a user named {user.username!r} already exists; choose another")
        self._t.users[user.id] = user

    async def named(self, username: str) -> User | None:
        return next((u for u in self._t.users.values() if u.username == username), None)

    async def all(self) -> list[User]:
        return sorted(self._t.users.values(), key=lambda u: u.username)

    async def record_sign_in(
        self, user_id: str, *, step: int | None, password_hash: str | None, now: datetime
    ) -> bool:
        user = self._t.users.get(user_id)
        if user is None or not user.active:
            return False
        changes: dict[str, Any] = {"failed_logins": 0, "last_login_at": now, "updated_at": now}
        if step is not None:
            if user.totp_last_step is not None and user.totp_last_step >= step:
                return False
            changes["totp_last_step"] = step
            changes["totp_confirmed_at"] = user.totp_confirmed_at or now
        if password_hash is not None:
            changes["password_hash"] = password_hash
        self._t.users[user_id] = replace(user, **changes)
        return True

    async def count_failure(self, username: str, now: datetime) -> None:
        user = await self.named(username)
        if user is not None:
            self._t.users[user.id] = replace(
                user, failed_logins=user.failed_logins + 1, updated_at=now
            )

    async def set_totp(self, user_id: str, sealed: str, now: datetime) -> None:
        self._change(
            user_id,
            totp_secret_enc=sealed,
            totp_confirmed_at=None,
            totp_last_step=None,
            updated_at=now,
        )

    async def set_password(self, user_id: str, password_hash: str, now: datetime) -> None:
        self._change(user_id, password_hash=password_hash, failed_logins=0, updated_at=now)

    async def set_active(self, user_id: str, active: bool, now: datetime) -> None:
        self._change(user_id, active=active, updated_at=now)

    def _change(self, user_id: str, **changes: Any) -> None:
        self._t.users[user_id] = replace(self._t.users[user_id], **changes)


def _count(
    table: dict[Any, Counter], key: object, policy: BackoffPolicy, now: datetime
) -> datetime | None:
    """The SQL's conditional update, in memory."""
    row = table.setdefault(key, Counter(0, None, now))
    if row.blocked_until is not None and row.blocked_until > now:
        return row.blocked_until
    stale = row.updated_at < now - policy.forget_after
    attempts = 1 if stale else row.attempts + 1
    wait = policy.wait_after(attempts)
    blocked = now + wait if wait is not None else row.blocked_until
    table[key] = Counter(attempts, blocked, now)
    return None


class FakeSignInRepository(OnTables[IdentityState]):
    async def count_network(
        self, username: str, network: str, policy: BackoffPolicy, now: datetime
    ) -> datetime | None:
        return _count(self._t.networks, (username, network), policy, now)

    async def count_account(
        self, username: str, policy: BackoffPolicy, now: datetime
    ) -> datetime | None:
        return _count(self._t.accounts, username, policy, now)

    async def known(self, username: str, network_hash: str, since: datetime) -> bool:
        at = self._t.known.get((username, network_hash))
        return at is not None and at >= since

    async def forgive_network(self, username: str, network: str) -> None:
        self._t.networks.pop((username, network), None)

    async def refund_account(self, username: str) -> None:
        row = self._t.accounts.get(username)
        if row is not None and row.attempts > 0:
            self._t.accounts[username] = replace(row, attempts=row.attempts - 1)

    async def remember(self, username: str, network_hash: str, now: datetime) -> None:
        self._t.known[(username, network_hash)] = now

    async def prune(
        self, *, networks_before: datetime, accounts_before: datetime, known_before: datetime
    ) -> int:
        s = self._t
        networks = [k for k, v in s.networks.items() if v.updated_at < networks_before]
        accounts = [k for k, v in s.accounts.items() if v.updated_at < accounts_before]
        known = [k for k, at in s.known.items() if at < known_before]
        for pair in networks:
            del s.networks[pair]
        for name in accounts:
            del s.accounts[name]
        for place in known:
            del s.known[place]
        return len(networks) + len(accounts) + len(known)


class FakeSessionRepository(OnTables[IdentityState]):
    async def add(self, session: Session) -> None:
        assert session.token_hash not in self._t.sessions
        self._t.sessions[session.token_hash] = session

    async def find(self, token_hash: str) -> Session | None:
        found = self._t.sessions.get(token_hash)
        if found is None or found.user_id is None:
            return found
        user = self._t.users.get(found.user_id)
        if user is None:
            return found
        return replace(
            found, role=user.role, practitioner=user.practitioner, account_active=user.active
        )

    async def touch(self, token_hash: str, now: datetime) -> None:
        found = self._t.sessions.get(token_hash)
        if found is not None:
            self._t.sessions[token_hash] = replace(found, last_seen_at=now)

    async def revoke(self, token_hash: str, now: datetime) -> None:
        found = self._t.sessions.get(token_hash)
        if found is not None and found.revoked_at is None:
            self._t.sessions[token_hash] = replace(found, revoked_at=now)

    async def revoke_user(self, user_id: str, now: datetime) -> None:
        for key, found in list(self._t.sessions.items()):
            if found.user_id == user_id and found.revoked_at is None:
                self._t.sessions[key] = replace(found, revoked_at=now)


class FakeLinkRepository(OnTables[IdentityState]):
    async def add(self, link: LoginLink) -> None:
        self._t.links[link.token_hash] = link

    async def claim(self, token_hash: str, now: datetime) -> str | None:
        link = self._t.links.get(token_hash)
        if link is None or link.used_at is not None or not link.expires_at > now:
            return None
        self._t.links[token_hash] = replace(link, used_at=now)
        return link.patient_id

    async def find(self, token_hash: str) -> LoginLink | None:
        return self._t.links.get(token_hash)


class FakeApiKeyRepository(OnTables[IdentityState]):
    async def add(self, key: ApiKey) -> None:
        assert key.id not in self._t.api_keys
        self._t.api_keys[key.id] = key

    async def get(self, key_id: str) -> ApiKey | None:
        return self._t.api_keys.get(key_id)

    async def all(self) -> list[ApiKey]:
        return sorted(self._t.api_keys.values(), key=lambda k: k.created_at)

    async def revoke(self, key_id: str, at: datetime) -> None:
        key = self._t.api_keys.get(key_id)
        if key is not None and (key.revoked_at is None or key.revoked_at > at):
            self._t.api_keys[key_id] = replace(key, revoked_at=at)

    async def replace(self, key_id: str, by: str) -> None:
        self._t.api_keys[key_id] = replace(self._t.api_keys[key_id], replaced_by=by)

    async def touch(self, key_id: str, now: datetime) -> None:
        self._t.api_keys[key_id] = replace(self._t.api_keys[key_id], last_used_at=now)


class FakeSigningKeyRepository(OnTables[IdentityState]):
    async def published(self) -> list[SealedSigningKey]:
        keys = [key for key, retired in self._t.signing_keys.values() if retired is None]
        return sorted(keys, key=lambda k: (k.created_at, k.kid))

    async def add(self, key: SealedSigningKey) -> None:
        self._t.signing_keys[key.kid] = (key, None)

    async def retire(self, kid: str, now: datetime) -> None:
        key, _ = self._t.signing_keys[kid]
        self._t.signing_keys[kid] = (key, now)


class FakePatientFinder(OnTables[IdentityState]):
    async def find_by_email(self, email: str) -> str | None:
        return self._t.patients.get(email)


class FakeIdentityUnitOfWork(TablesTransaction[IdentityState]):
    users = Repository(FakeUserRepository)
    signins = Repository(FakeSignInRepository)
    sessions = Repository(FakeSessionRepository)
    links = Repository(FakeLinkRepository)
    api_keys = Repository(FakeApiKeyRepository)
    signing_keys = Repository(FakeSigningKeyRepository)
    patients = Repository(FakePatientFinder)


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (to, subject, text)
        self.failing = False

    async def send(self, to: str, subject: str, text: str) -> None:
        if self.failing:
            raise ConnectionError("the mail server is down")
        self.sent.append((to, subject, text))


@dataclass
class FakeIdentity:
    """Identity's use cases over one in-memory state, on a clock that moves when told."""

    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    state: IdentityState = field(default_factory=IdentityState)
    ledger: Ledger = field(default_factory=Ledger)
    keys: KeyRing = field(default_factory=KeyRing.generate)
    mailer: RecordingMailer = field(default_factory=RecordingMailer)
    limits: SignInLimits = field(default_factory=SignInLimits)
    passwords: Passwords = field(default_factory=lambda: Passwords("insecure-fast"))
    idle: timedelta = timedelta(minutes=15)
    lifetime: timedelta = timedelta(hours=12)
    link_lifetime: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        def make(write: bool) -> FakeIdentityUnitOfWork:
            return FakeIdentityUnitOfWork(self.ledger, self.state, write=write)

        self.uow = FakeFactory(make)
        self.sessions = SessionStore(
            uow=self.uow, clock=self.clock, idle=self.idle, lifetime=self.lifetime
        )
        self.users = UserService(
            uow=self.uow,
            clock=self.clock,
            keys=self.keys,
            sessions=self.sessions,
            practitioners=PRACTITIONERS,
            issuer_name="Clinic Test",
            limits=self.limits,
            passwords=self.passwords,
        )
        self.links = PatientLinks(
            uow=self.uow,
            clock=self.clock,
            sessions=self.sessions,
            mailer=self.mailer,
            lifetime=self.link_lifetime,
            public_url="https://clinic.test/",
            clinic_name="Clinic Test",
        )
        self.api_keys = ApiKeys(uow=self.uow, clock=self.clock)
        self.tokens = TokenService(
            uow=self.uow,
            clock=self.clock,
            keys=self.keys,
            clients=self.api_keys,
            issuer="https://clinic.test",
            audience="clinicflow-api",
            ttl=timedelta(minutes=15),
        )

    def user(self, username: str) -> User:
        return next(u for u in self.state.users.values() if u.username == username)
