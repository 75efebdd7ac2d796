"""The staff accounts' repositories, as the use cases see them (SQL in `repository.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.identity.users.domain.accounts import User
from clinicflow.identity.users.domain.backoff import BackoffPolicy


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Raises `UsernameTaken` when another account has the name."""

    async def named(self, username: str) -> User | None: ...

    async def all(self) -> list[User]:
        """By username."""

    async def record_sign_in(
        self, user_id: str, *, step: int | None, password_hash: str | None, now: datetime
    ) -> bool:
        """Zero the failures and note the time, for an active account; with a TOTP `step`,
        only when it is later than the last one used (one conditional update: of two
        requests with one code, one wins). False when nothing matched."""

    async def count_failure(self, username: str, now: datetime) -> None:
        """One more failure for the account with this name, if any (counted in SQL)."""

    async def set_totp(self, user_id: str, sealed: str, now: datetime) -> None:
        """A new sealed secret, not yet confirmed and with no step used."""

    async def set_password(self, user_id: str, password_hash: str, now: datetime) -> None:
        """The new hash; the failure count starts again."""

    async def set_active(self, user_id: str, active: bool, now: datetime) -> None: ...


class SignInRepository(Protocol):
    """The back-off counters: per (name, network), per account, and the known networks."""

    async def count_network(
        self, username: str, network: str, policy: BackoffPolicy, now: datetime
    ) -> datetime | None:
        """Count one attempt for the pair; when it must wait, count nothing and return until
        when. Parallel attempts are counted one by one."""

    async def count_account(
        self, username: str, policy: BackoffPolicy, now: datetime
    ) -> datetime | None:
        """The same, for the account's budget over networks it has not signed in from."""

    async def known(self, username: str, network_hash: str, since: datetime) -> bool:
        """Whether the account signed in from the network at or after `since`."""

    async def forgive_network(self, username: str, network: str) -> None: ...

    async def refund_account(self, username: str) -> None:
        """One attempt less on the account's budget (never below zero)."""

    async def remember(self, username: str, network_hash: str, now: datetime) -> None:
        """The account signed in from the network now."""

    async def prune(
        self, *, networks_before: datetime, accounts_before: datetime, known_before: datetime
    ) -> int:
        """Forget counters quiet since before those instants, and networks known before."""
