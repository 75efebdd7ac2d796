"""Patient use cases that change data: create, update, merge, legal hold.

Each runs in one write transaction with its audit rows. Writes never take the break-glass
path: opening a record outside one's scope is for reading it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import Database
from clinicflow.patients import repository as repo
from clinicflow.patients._merge import merge_records
from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.domain.access import STAFF_ONLY_FIELDS, Need
from clinicflow.patients.errors import PatientExists, PatientMerged
from clinicflow.patients.guard import PatientGuard, access
from clinicflow.patients.ports import BookingReassigner
from clinicflow.patients.tables import patients
from clinicflow.patients.views import PatientView
from clinicflow.shared.actor import Actor, require
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest


class PatientService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        cipher: PatientCipher,
        guard: PatientGuard,
        bookings: BookingReassigner,
    ) -> None:
        self._db = db
        self._clock = clock
        self._cipher = cipher
        self._guard = guard
        self._bookings = bookings

    async def create(self, actor: Actor, changes: PatientChanges) -> PatientView:
        await self._guard.require_role(actor, Need.CREATE, None)
        given = changes.values
        if not given.get("first_name") or not given.get("last_name"):
            raise InvalidRequest("first_name and last_name are required")
        if not given.get("email") and not given.get("phone"):
            raise InvalidRequest("give an email or a phone number, so the clinic can reach them")
        now = self._clock.now()
        patient_id = str(uuid.uuid4())
        values = repo.column_values(patient_id, given, self._cipher, {}, now)
        values.setdefault("contact_prefs", {})
        try:
            async with self._db.write() as conn:
                await self._refuse_taken_email(conn, values.get("email_bidx"), None)
                await self._check_referrer(conn, changes, patient_id)
                await conn.execute(
                    insert(patients).values(id=patient_id, created_at=now, updated_at=now, **values)
                )
                await self._guard.trail.record(conn, actor, "create", [access(patient_id)])
                row = await repo.load(conn, patient_id)
        except IntegrityError as exc:  # a concurrent create with the same email won
            raise self._taken() from exc
        return PatientView.of(row, self._cipher)

    async def update(self, actor: Actor, patient_id: str, changes: PatientChanges) -> PatientView:
        await self._guard.require_role(actor, Need.WRITE, patient_id)
        staff_only = STAFF_ONLY_FIELDS & set(changes.values)
        require(
            actor,
            not staff_only or actor.is_staff or actor.kind == "client",
            f"only clinic staff may change {', '.join(sorted(staff_only))}",
        )
        for required in ("first_name", "last_name"):
            if required in changes.values and not changes.values[required]:
                raise InvalidRequest(f"{required} cannot be removed; give a new value")

        async def run() -> PatientView:
            async with self._db.write() as conn:
                found = await repo.load(conn, patient_id, lock=True)
                row, _ = await self._guard.check(conn, actor, Need.WRITE, found, patient_id)
                _refuse_merged(row)
                now = self._clock.now()
                values = repo.column_values(
                    patient_id, changes.values, self._cipher, row.contact_prefs, now
                )
                if "email_bidx" in values:
                    await self._refuse_taken_email(conn, values["email_bidx"], patient_id)
                await self._check_referrer(conn, changes, patient_id)
                await conn.execute(
                    update(patients)
                    .where(patients.c.id == patient_id)
                    .values(**values, updated_at=now, version=row.version + 1)
                )
                await self._guard.trail.record(conn, actor, "update", [access(patient_id)])
                return PatientView.of(await repo.load(conn, patient_id), self._cipher)

        try:
            return await self._guard.trail.denying(actor, "update", run)
        except IntegrityError as exc:
            raise self._taken() from exc

    async def merge(self, actor: Actor, source_id: str, target_id: str) -> PatientView:
        """Move everything of `source_id` onto `target_id`, which survives."""
        await self._guard.require_role(actor, Need.MERGE, source_id)
        if source_id == target_id:
            raise InvalidRequest("a record cannot be merged into itself; give another `into`")

        async def run() -> PatientView:
            async with self._db.write() as conn:
                rows = await self._lock_pair(conn, actor, source_id, target_id)
                await merge_records(
                    conn, self._bookings, self._cipher, rows, actor.id, self._clock.now()
                )
                await self._guard.trail.record(
                    conn, actor, "merge", [access(source_id), access(target_id)]
                )
                return PatientView.of(await repo.load(conn, target_id), self._cipher)

        return await self._guard.trail.denying(actor, "merge", run)

    async def set_legal_hold(
        self, actor: Actor, patient_id: str, on: bool, reason: str
    ) -> PatientView:
        """A patient under legal hold is exempt from retention until the hold is lifted."""
        await self._guard.require_role(actor, Need.LEGAL_HOLD, patient_id)

        async def run() -> PatientView:
            async with self._db.write() as conn:
                found = await repo.load(conn, patient_id, lock=True)
                row, _ = await self._guard.check(conn, actor, Need.LEGAL_HOLD, found, patient_id)
                now = self._clock.now()
                await conn.execute(
                    update(patients)
                    .where(patients.c.id == patient_id)
                    .values(legal_hold=on, updated_at=now, version=row.version + 1)
                )
                action = "legal_hold_on" if on else "legal_hold_off"
                await self._guard.trail.record(
                    conn, actor, action, [access(patient_id)], reason=reason
                )
                return PatientView.of(await repo.load(conn, patient_id), self._cipher)

        return await self._guard.trail.denying(actor, "legal_hold", run)

    async def _lock_pair(
        self, conn: AsyncConnection, actor: Actor, source_id: str, target_id: str
    ) -> tuple[Any, Any]:
        # Always in id order, so two merges of the same pair cannot deadlock.
        first, second = sorted((source_id, target_id))
        loaded = {}
        for pid in (first, second):
            found = await repo.load(conn, pid, lock=True)
            loaded[pid], _ = await self._guard.check(conn, actor, Need.MERGE, found, pid)
            _refuse_merged(loaded[pid])
        return loaded[source_id], loaded[target_id]

    async def _check_referrer(
        self, conn: AsyncConnection, changes: PatientChanges, patient_id: str | None
    ) -> None:
        referral = changes.values.get("referral")
        referrer = getattr(referral, "patient_id", None)
        if referrer is None:
            return
        if referrer == patient_id or await repo.load(conn, referrer) is None:
            raise InvalidRequest(
                f"referral.patient_id: no other patient {referrer!r}; give the id of the "
                "patient who referred them"
            )

    async def _refuse_taken_email(
        self, conn: AsyncConnection, bidx: str | None, patient_id: str | None
    ) -> None:
        if bidx is None:
            return
        taken = await repo.find_by_bidx(conn, "email_bidx", bidx)
        if taken is not None and taken != patient_id:
            raise self._taken(existing=taken)

    @staticmethod
    def _taken(existing: str | None = None) -> PatientExists:
        extra = {"patient_id": existing} if existing else {}
        return PatientExists(
            "another patient record already has this email; update that record, or merge "
            "the two with POST /v1/patients/{id}/merge",
            **extra,
        )


def _refuse_merged(row: Any) -> None:
    if row.status == "merged":
        raise PatientMerged(
            f"patient {row.id} was merged into {row.merged_into}; use that record",
            merged_into=row.merged_into,
        )
