"""Retention of patient records: de-identify a patient once the record has been idle long
enough (the rule: `domain/retention.py`), in batches, each in its own unit of work with an
audit row per record, and `patient.deidentified` published for the other contexts (they
drop what they keep about the person, e.g. their browsers for push)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra.audit_trail import audit_accesses
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.patients.domain import retention as rule
from clinicflow.patients.domain.retention import Batch, PatientsDue
from clinicflow.patients.events import deidentified
from clinicflow.patients.guard import access
from clinicflow.patients.ports import RetentionUnitOfWork
from clinicflow.shared.actor import SYSTEM

__all__ = ["Batch", "PatientRetention", "PatientsDue"]

# Who the audit rows name: the platform, as its retention job.
RETENTION = replace(SYSTEM, id="retention")


class PatientRetention:
    def __init__(self, *, uow: UnitsOfWork[RetentionUnitOfWork]) -> None:
        self._uow = uow

    async def due(self, policy: RetentionPolicy, now: datetime) -> PatientsDue:
        async with self._uow.reading() as uow:
            return await uow.records.due(policy, now)

    async def deidentify_batch(
        self, policy: RetentionPolicy, now: datetime, *, after: str = "", limit: int = rule.BATCH
    ) -> Batch:
        """Up to `limit` due patients with ids after `after`, in one unit of work."""
        async with self._uow() as uow:
            batch = await uow.records.deidentify(policy, now, after=after, limit=limit)
            audit_accesses(uow, RETENTION, "deidentify", map(access, batch.deidentified), now)
            uow.publish(*(deidentified(patient_id, now) for patient_id in batch.deidentified))
            await uow.commit()
        return batch

    async def deidentify_all(self, policy: RetentionPolicy, now: datetime) -> list[str]:
        """Batch after batch (so no long transaction holds the table) until none is left."""
        done: list[str] = []
        after: str | None = ""
        while after is not None:
            batch = await self.deidentify_batch(policy, now, after=after, limit=rule.BATCH)
            done += batch.deidentified
            after = batch.next_after
        return done
