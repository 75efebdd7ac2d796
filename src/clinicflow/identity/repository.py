"""Identity's unit of work in SQL: one transaction, the aggregates' repositories on it.

Each aggregate keeps its SQL in its own `repository.py` (`users/`, `sessions/`,
`api_keys/`, `oauth/`); this one opens them all on the transaction's connection, with the
patients context's directory, which a sign-in link request reads in the same transaction.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.api_keys.repository import SqlApiKeyRepository
from clinicflow.identity.oauth.repository import SqlSigningKeyRepository
from clinicflow.identity.sessions.repository import SqlLinkRepository, SqlSessionRepository
from clinicflow.identity.users.repository import SqlSignInRepository, SqlUserRepository
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import TransactionClosed, UnitOfWork


class PatientDirectory(Protocol):
    """What identity reads of the patients context's `PatientDirectory`."""

    async def find_by_email(self, conn: AsyncConnection, email: str) -> str | None: ...


class SqlPatientFinder:
    """The patient directory on identity's transaction (`ports.PatientFinder`)."""

    def __init__(self, directory: PatientDirectory, conn: AsyncConnection) -> None:
        self._directory = directory
        self._conn = conn

    async def find_by_email(self, email: str) -> str | None:
        return await self._directory.find_by_email(self._conn, email)


class SqlIdentityUnitOfWork(UnitOfWork):
    def __init__(self, db: Database, *, write: bool = True, patients: PatientDirectory) -> None:
        super().__init__(db, write=write)
        self._directory = patients
        self._repositories: _Repositories | None = None

    def _open(self, conn: AsyncConnection) -> None:
        self._repositories = _Repositories(conn, self._directory)

    @property
    def _open_repositories(self) -> _Repositories:
        if self._repositories is None or self._conn is None:
            raise TransactionClosed("the unit of work is not open: use `async with uow:`")
        return self._repositories

    @property
    def users(self) -> SqlUserRepository:
        return self._open_repositories.users

    @property
    def signins(self) -> SqlSignInRepository:
        return self._open_repositories.signins

    @property
    def sessions(self) -> SqlSessionRepository:
        return self._open_repositories.sessions

    @property
    def links(self) -> SqlLinkRepository:
        return self._open_repositories.links

    @property
    def api_keys(self) -> SqlApiKeyRepository:
        return self._open_repositories.api_keys

    @property
    def signing_keys(self) -> SqlSigningKeyRepository:
        return self._open_repositories.signing_keys

    @property
    def patients(self) -> SqlPatientFinder:
        return self._open_repositories.patients


class _Repositories:
    __slots__ = ("api_keys", "links", "patients", "sessions", "signing_keys", "signins", "users")

    def __init__(self, conn: AsyncConnection, directory: PatientDirectory) -> None:
        self.users = SqlUserRepository(conn)
        self.signins = SqlSignInRepository(conn)
        self.sessions = SqlSessionRepository(conn)
        self.links = SqlLinkRepository(conn)
        self.api_keys = SqlApiKeyRepository(conn)
        self.signing_keys = SqlSigningKeyRepository(conn)
        self.patients = SqlPatientFinder(directory, conn)
