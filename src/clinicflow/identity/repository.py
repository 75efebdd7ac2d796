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
from clinicflow.infra.unit_of_work import OnConnection, UnitOfWork, on_connection


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

    def _patients(self, conn: AsyncConnection) -> SqlPatientFinder:
        return SqlPatientFinder(self._directory, conn)

    users = on_connection(SqlUserRepository)
    signins = on_connection(SqlSignInRepository)
    sessions = on_connection(SqlSessionRepository)
    links = on_connection(SqlLinkRepository)
    api_keys = on_connection(SqlApiKeyRepository)
    signing_keys = on_connection(SqlSigningKeyRepository)
    patients = OnConnection(_patients)
