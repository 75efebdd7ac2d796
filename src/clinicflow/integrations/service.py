"""The integrations' use cases: keeping the EHR's patients and visits in step with ours,
taking the EHR's webhooks, listing the conflicts for staff, and the CRM's contacts.

Every call to a vendor goes through its adapter's retries and circuit breaker; a failure is
raised, so the bus tries the event again later with back-off (and dead-letters it at last).
Patient details are read and written only through `PatientRecords` (the patients context's
use cases, audited); nothing here logs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.integrations.domain.crm import contact_of
from clinicflow.integrations.domain.ehr import (
    Demographics,
    RemotePatient,
    Verdict,
    as_seen_by,
    reconcile,
    same_person,
)
from clinicflow.integrations.errors import ConflictNotFound, EhrWebhooksOff
from clinicflow.integrations.events import ehr_patient_changed
from clinicflow.integrations.ports import (
    CrmContacts,
    EhrDirectory,
    EhrLink,
    EhrNotices,
    IntegrationsUnitOfWork,
    NewConflict,
    PatientRecords,
    SyncedVisit,
)
from clinicflow.integrations.views import ConflictView
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError

log = get_logger(__name__)

# A keyed digest of a canonical text (bootstrap gives the key ring's blind index).
Digest = Callable[[str], str]
EDITED_BOTH_SIDES, AMBIGUOUS_MATCH, REFUSED = "edited_both_sides", "ambiguous_match", "refused"
DESK_ROLES = frozenset({Role.ADMIN, Role.FRONT_DESK})


class EhrSyncService:
    """The bus's `EhrSync`: a visit's patient is matched or created in the EHR and linked;
    the visit itself is pushed only when `push_visits` is on. Also applies the EHR's
    patient changes (`patient_changed`), or lists a conflict."""

    def __init__(
        self,
        *,
        ehr: EhrDirectory,
        patients: PatientRecords,
        uow: UnitsOfWork[IntegrationsUnitOfWork],
        clock: Clock,
        digest: Digest,
        push_visits: bool,
    ) -> None:
        self.name = ehr.name
        self._ehr = ehr
        self._patients = patients
        self._uow = uow
        self._clock = clock
        self._digest = digest
        self.push_visits = push_visits

    async def schedule_encounter(self, visit: SyncedVisit) -> None:
        if visit.patient_id is None:
            return
        remote_id = await self.linked(visit.patient_id)
        if remote_id is not None and self.push_visits:
            await self._ehr.upsert_appointment(visit, remote_id)

    async def cancel_encounter(self, booking_id: str) -> None:
        if self.push_visits:
            await self._ehr.cancel_appointment(booking_id)

    async def linked(self, patient_id: str) -> str | None:
        """The EHR's id for our patient: linked before, found by its search, or created.
        None when the record is gone or the search found several people (listed)."""
        async with self._uow.reading() as uow:
            link = await uow.links.of_patient(patient_id)
        if link is not None:
            return link.remote_id
        ours = await self._patients.demographics(patient_id)
        if ours is None:
            return None
        found = _distinct(
            c
            for c in await self._ehr.search_patients(ours, patient_id)
            if self._is_ours(c, patient_id) or same_person(ours, c.demographics)
        )
        if len(found) > 1:
            ids = ",".join(sorted(c.id for c in found))[:200]
            await self._list(NewConflict(patient_id, None, AMBIGUOUS_MATCH, (), None, ids))
            return None
        remote = found[0] if found else await self._ehr.create_patient(ours, patient_id)
        async with self._uow.reading() as uow:
            taken = await uow.links.of_remote(remote.id)
        if taken is not None and taken.patient_id != patient_id:
            # Two of our records are one person there: a duplicate here, for staff to merge.
            detail = f"linked to {taken.patient_id}"
            await self._list(NewConflict(patient_id, remote.id, AMBIGUOUS_MATCH, (), None, detail))
            return None
        await self._save(patient_id, remote.id, ours)
        return remote.id

    async def patient_changed(self, remote_id: str) -> Verdict | None:
        """The EHR's patient as its API has it now, against ours and the last sync."""
        async with self._uow.reading() as uow:
            link = await uow.links.of_remote(remote_id)
        if link is None:
            return None  # not a patient clinicflow syncs
        remote = await self._ehr.read_patient(remote_id)
        ours = await self._patients.demographics(link.patient_id)
        if remote is None or ours is None:
            return None
        theirs = as_seen_by(remote.demographics, ours)
        fields = ours.differing(theirs)
        verdict = reconcile(
            link.synced_digest,
            self._digest(ours.canonical()),
            self._digest(theirs.canonical()),
            same_values=not fields,
        )
        if verdict is Verdict.CONFLICT:
            conflict = NewConflict(
                link.patient_id, remote_id, EDITED_BOTH_SIDES, tuple(fields), remote.version
            )
            await self._list(conflict)
        elif verdict is Verdict.APPLY:
            try:
                await self._patients.apply(link.patient_id, theirs, fields)
            except DomainError as exc:
                refused = NewConflict(
                    link.patient_id, remote_id, REFUSED, tuple(fields), remote.version, exc.code
                )
                await self._list(refused)
                return Verdict.CONFLICT
            await self._save(link.patient_id, remote_id, theirs)
        elif verdict is Verdict.IN_STEP:
            await self._save(link.patient_id, remote_id, theirs)
        log.info("ehr_patient_reconciled", remote_id=remote_id, verdict=verdict.value)
        return verdict

    async def settled(self, patient_id: str) -> None:
        """Staff settled a conflict: our record as it is now is what was agreed, so the
        EHR's later changes flow in again."""
        async with self._uow.reading() as uow:
            link = await uow.links.of_patient(patient_id)
        ours = await self._patients.demographics(patient_id)
        if link is not None and ours is not None:
            await self._save(patient_id, link.remote_id, ours)

    async def forget(self, patient_id: str) -> None:
        """A de-identified record keeps no tie to the person in the EHR (retention)."""
        async with self._uow() as uow:
            await uow.links.forget(patient_id)
            await uow.commit()

    def _is_ours(self, candidate: RemotePatient, patient_id: str) -> bool:
        return any(value == patient_id for _, value in candidate.identifiers)

    async def _save(self, patient_id: str, remote_id: str, agreed: Demographics) -> None:
        now = self._clock.now()
        link = EhrLink(patient_id, remote_id, self._digest(agreed.canonical()), now)
        async with self._uow() as uow:
            await uow.links.put(link)
            await uow.commit()

    async def _list(self, conflict: NewConflict) -> None:
        async with self._uow() as uow:
            added = await uow.conflicts.add_once(conflict, self._clock.now())
            await uow.commit()
        if added:
            log.warning("ehr_conflict_listed", kind=conflict.kind, patient_id=conflict.patient_id)


def _distinct(candidates: Iterable[RemotePatient]) -> list[RemotePatient]:
    seen: dict[str, RemotePatient] = {}
    for c in candidates:
        seen.setdefault(c.id, c)
    return list(seen.values())


@dataclass(kw_only=True, eq=False)
class EhrWebhookIntake:
    """The EHR's patient webhooks: verified by the adapter, taken once per webhook id, and
    turned into `ehr.patient_changed` events in the same transaction (so the answer is quick
    and the work is retried by the bus, not by the EHR)."""

    notices: EhrNotices | None
    uow: UnitsOfWork[IntegrationsUnitOfWork]
    clock: Clock

    async def receive(self, authorization: str | None, body: bytes) -> int:
        """How many patient changes were queued (0 for a repeated webhook)."""
        if self.notices is None:
            raise EhrWebhooksOff("MediRecords webhooks are not configured on this clinicflow")
        notice = self.notices.read(authorization, body)
        now = self.clock.now()
        async with self.uow() as uow:
            if not await uow.notices.first_time(notice.notice_id, now):
                return 0
            uow.publish(
                *(ehr_patient_changed(r, notice.notice_id, now) for r in notice.patient_ids)
            )
            await uow.commit()
        return len(notice.patient_ids)


@dataclass(kw_only=True, eq=False)
class ConflictDesk:
    """The conflicts, for the front desk and admins: listed, and marked settled."""

    uow: UnitsOfWork[IntegrationsUnitOfWork]
    trail: AuditTrail
    clock: Clock
    sync: EhrSyncService | None = None

    async def list(self, actor: Actor, *, open_only: bool, limit: int) -> list[ConflictView]:
        await self._require(actor, "list_ehr_conflicts")
        async with self.uow.reading() as uow:
            found = await uow.conflict_list.conflicts(open_only=open_only, limit=limit)
        patients = sorted({c.patient_id for c in found})
        if patients:
            await self.trail.record_alone(
                actor, "list_ehr_conflicts", [_patient(p) for p in patients]
            )
        return found

    async def resolve(self, actor: Actor, conflict_id: str) -> str:
        """Marks it settled (the two records were compared and put right by hand); our
        record as it now is becomes the agreed one. The patient's id."""
        await self._require(actor, "resolve_ehr_conflict")
        now = self.clock.now()
        async with self.uow() as uow:
            patient_id = await uow.conflicts.resolve(conflict_id, actor.id, now)
            if patient_id is None:
                raise ConflictNotFound(f"no open conflict {conflict_id!r}; list them for ids")
            await uow.commit()
        await self.trail.record_alone(actor, "resolve_ehr_conflict", [_patient(patient_id)])
        if self.sync is not None:
            await self.sync.settled(patient_id)
        return patient_id

    async def _require(self, actor: Actor, action: str) -> None:
        allowed = actor.kind == "user" and actor.role in DESK_ROLES
        await self.trail.require_role(
            actor,
            allowed,
            action,
            Access("ehr_conflict", "*", None),
            "only the front desk and admins see the EHR sync's conflicts",
        )


def _patient(patient_id: str) -> Access:
    return Access("patient", patient_id, patient_id)


class CrmSyncService:
    """A booking's patient becomes (or updates) a CRM contact, when they opted in to
    marketing: email and name only (domain/crm.py says why)."""

    def __init__(self, *, crm: CrmContacts, patients: PatientRecords) -> None:
        self.name = crm.name
        self._crm = crm
        self._patients = patients

    async def sync_patient(self, patient_id: str) -> bool:
        """Whether a contact was sent."""
        contact = contact_of(await self._patients.marketing(patient_id))
        if contact is None:
            return False
        await self._crm.upsert_contact(contact)
        return True
