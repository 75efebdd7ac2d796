"""What identity needs from outside, and its unit of work as the use cases see it."""

from __future__ import annotations

from typing import Protocol

from clinicflow.identity.api_keys.ports import ApiKeyRepository
from clinicflow.identity.oauth.ports import SigningKeyRepository
from clinicflow.identity.sessions.ports import LinkRepository, SessionRepository
from clinicflow.identity.users.ports import SignInRepository, UserRepository
from clinicflow.infra.unit_of_work import Transaction


class Mailer(Protocol):
    """Sends sign-in and verification emails (the clinic's plain email sender)."""

    async def send(self, to: str, subject: str, text: str) -> None: ...


class PatientFinder(Protocol):
    """The patients context's directory, within identity's transaction."""

    async def find_by_email(self, email: str) -> str | None:
        """The patient with this (normalized) email, if one record has it."""


class IdentityUnitOfWork(Transaction, Protocol):
    """One transaction over identity's tables (`repository.SqlIdentityUnitOfWork`)."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def signins(self) -> SignInRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def links(self) -> LinkRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def signing_keys(self) -> SigningKeyRepository: ...

    @property
    def patients(self) -> PatientFinder: ...
