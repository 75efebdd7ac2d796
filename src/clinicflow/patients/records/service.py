"""The patient record's use cases: create, update, merge, legal hold; read, search, the
multi-service record.

Each write runs in one unit of work with its audit rows. Writes never take the break-glass
path: opening a record outside one's scope is for reading it. Reads are audited in a unit
of work of their own once the record is read; a refusal leaves a denied row and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.domain.access import STAFF_ONLY_FIELDS, Need, sees_all
from clinicflow.patients.domain.consent import timed
from clinicflow.patients.domain.merge import enrollments_after, gaps, merged_prefs
from clinicflow.patients.domain.patient import MERGED, Patient, PatientChange, PatientFields
from clinicflow.patients.errors import PatientMerged, email_taken
from clinicflow.patients.guard import PatientGuard, access
from clinicflow.patients.ports import PatientsUnitOfWork
from clinicflow.patients.views import PatientView, RecordView, ServiceHistory
from clinicflow.shared.actor import Actor, Role, require
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

T = TypeVar("T")


async def _as_read(uow: PatientsUnitOfWork, patient: Patient) -> PatientView:
    return patient


class _PatientsUseCase:
    """What the patients' use cases work with: their units of work, the clock, the guard."""

    def __init__(
        self, *, uow: UnitsOfWork[PatientsUnitOfWork], clock: Clock, guard: PatientGuard
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._guard = guard


class PatientService(_PatientsUseCase):
    async def create(self, actor: Actor, changes: PatientChanges) -> PatientView:
        await self._guard.require_role(actor, Need.CREATE, None)
        given = changes.values
        if not given.get("first_name") or not given.get("last_name"):
            raise InvalidRequest("first_name and last_name are required")
        if not given.get("email") and not given.get("phone"):
            raise InvalidRequest("give an email or a phone number, so the clinic can reach them")
        now = self._clock.now()
        patient_id = str(uuid.uuid4())
        prefs = timed({}, given.get("contact_prefs") or {}, now)
        async with self._uow() as uow:
            await _refuse_taken_email(uow, given.get("email"), None)
            await _check_referrer(uow, given, patient_id)
            patient = await uow.patients.add(patient_id, given, prefs, now)
            self._guard.record(uow, actor, "create", [access(patient_id)])
            await uow.commit()
        return patient

    async def update(self, actor: Actor, patient_id: str, changes: PatientChanges) -> PatientView:
        await self._guard.require_role(actor, Need.WRITE, patient_id)
        given = changes.values
        staff_only = STAFF_ONLY_FIELDS & set(given)
        require(
            actor,
            not staff_only or actor.is_staff or actor.kind == "client",
            f"only clinic staff may change {', '.join(sorted(staff_only))}",
        )
        for required, removed in (
            ("first_name", "first_name" in given and not given["first_name"]),
            ("last_name", "last_name" in given and not given["last_name"]),
        ):
            if removed:
                raise InvalidRequest(f"{required} cannot be removed; give a new value")

        async def run() -> PatientView:
            async with self._uow() as uow:
                found = await uow.patients.get(patient_id, lock=True)
                patient, _ = await self._guard.check(uow, actor, Need.WRITE, found, patient_id)
                _refuse_merged(patient)
                now = self._clock.now()
                prefs = None
                if "contact_prefs" in given:
                    prefs = timed(patient.contact_prefs, given["contact_prefs"] or {}, now)
                await _refuse_taken_email(uow, given.get("email"), patient_id)
                await _check_referrer(uow, given, patient_id)
                changed = await uow.patients.change(patient, PatientChange(given, prefs), now)
                self._guard.record(uow, actor, "update", [access(patient_id)])
                await uow.commit()
            return changed

        return await self._guard.trail.denying(actor, "update", run)

    async def merge(self, actor: Actor, source_id: str, target_id: str) -> PatientView:
        """Move everything of `source_id` onto `target_id`, which survives. The duplicate
        keeps its sealed values for the trace but loses its blind indexes, so lookups find
        only the survivor; a `patients_merge` row records who merged what, and how much
        moved."""
        await self._guard.require_role(actor, Need.MERGE, source_id)
        if source_id == target_id:
            raise InvalidRequest("a record cannot be merged into itself; give another `into`")

        async def run() -> PatientView:
            async with self._uow() as uow:
                source, target = await self._lock_pair(uow, actor, source_id, target_id)
                now = self._clock.now()
                theirs = await uow.visits.enrollments(source.id)
                mine = await uow.visits.enrollments(target.id)
                moved = {
                    "bookings": await uow.bookings.reassign(source.id, target.id),
                    "visits": await uow.visits.move(source.id, target.id),
                    "enrollments": len(theirs),
                    "referrals": await uow.patients.move_referrals(source.id, target.id),
                }
                taken = enrollments_after(theirs, mine, target.id)
                await uow.visits.take_over_enrollments(source.id, target.id, taken)
                # The duplicate's indexes go first: the survivor may take over its email's.
                await uow.patients.mark_merged(source, target.id, now)
                survivor = await uow.patients.change(
                    target,
                    PatientChange(
                        gaps(source, target),
                        prefs=merged_prefs(source, target),
                        legal_hold=target.legal_hold or source.legal_hold,
                    ),
                    now,
                )
                await uow.patients.record_merge(source.id, target.id, actor.id, moved, now)
                self._guard.record(uow, actor, "merge", [access(source_id), access(target_id)])
                await uow.commit()
            return survivor

        return await self._guard.trail.denying(actor, "merge", run)

    async def set_legal_hold(
        self, actor: Actor, patient_id: str, on: bool, reason: str
    ) -> PatientView:
        """A patient under legal hold is exempt from retention until the hold is lifted."""
        await self._guard.require_role(actor, Need.LEGAL_HOLD, patient_id)

        async def run() -> PatientView:
            async with self._uow() as uow:
                found = await uow.patients.get(patient_id, lock=True)
                patient, _ = await self._guard.check(uow, actor, Need.LEGAL_HOLD, found, patient_id)
                now = self._clock.now()
                changed = await uow.patients.change(patient, PatientChange(legal_hold=on), now)
                action = "legal_hold_on" if on else "legal_hold_off"
                self._guard.record(uow, actor, action, [access(patient_id)], reason=reason)
                await uow.commit()
            return changed

        return await self._guard.trail.denying(actor, "legal_hold", run)

    async def _lock_pair(
        self, uow: PatientsUnitOfWork, actor: Actor, source_id: str, target_id: str
    ) -> tuple[Patient, Patient]:
        # Always in id order, so two merges of the same pair cannot deadlock.
        loaded: dict[str, Patient] = {}
        for pid in sorted((source_id, target_id)):
            found = await uow.patients.get(pid, lock=True)
            loaded[pid], _ = await self._guard.check(uow, actor, Need.MERGE, found, pid)
            _refuse_merged(loaded[pid])
        return loaded[source_id], loaded[target_id]


class PatientReader(_PatientsUseCase):
    async def get(self, actor: Actor, patient_id: str) -> PatientView:
        return await self._read(actor, Need.READ, "read", patient_id, _as_read)

    async def search(
        self, actor: Actor, *, email: str | None, phone: str | None
    ) -> list[PatientView]:
        """Exact match on a normalized email or phone, through the blind index."""
        await self._guard.require_role(actor, Need.SEARCH, None)
        async with self._uow.reading() as uow:
            found = await uow.patients.find(email=email, phone=phone)
            if actor.role is Role.PRACTITIONER and not sees_all(actor, Need.SEARCH):
                found = [p for p in found if await uow.visits.seen_by(actor.practitioner, p.id)]
        await self._guard.trail.record_alone(actor, "search", [access(p.id) for p in found])
        return found

    async def record(self, actor: Actor, patient_id: str) -> RecordView:
        return await self._read(actor, Need.RECORD, "read_record", patient_id, self._assemble)

    async def _read(
        self,
        actor: Actor,
        need: Need,
        action: str,
        patient_id: str,
        build: Callable[[PatientsUnitOfWork, Patient], Awaitable[T]],
    ) -> T:
        """One record read: refused by role, or by scope (a denied row and a 404), or built
        from the record and audited as `action` once read."""
        await self._guard.require_role(actor, need, patient_id)

        async def load() -> T:
            async with self._uow.reading() as uow:
                found = await uow.patients.get(patient_id)
                patient, decision = await self._guard.check(uow, actor, need, found, patient_id)
                view = await build(uow, patient)
            await self._guard.trail.record_alone(
                actor, action, [access(patient_id)], break_glass=decision.break_glass
            )
            return view

        return await self._guard.trail.denying(actor, action, load)

    async def _assemble(self, uow: PatientsUnitOfWork, patient: Patient) -> RecordView:
        now = self._clock.now()
        by_service: dict[str, ServiceHistory] = {}
        for visit in await uow.visits.of_patient(patient.id):
            entry = by_service.setdefault(visit.service, ServiceHistory(visit.service))
            (entry.upcoming if visit.start > now else entry.past).append(visit)
        return RecordView(
            patient=patient,
            enrollments=await uow.visits.enrollments(patient.id),
            services=list(by_service.values()),
            referred_patients=await uow.patients.referred_by(patient.id),
            merged_from=await uow.patients.merged_from(patient.id),
        )


def _refuse_merged(patient: Patient) -> None:
    if patient.status == MERGED:
        raise PatientMerged(
            f"patient {patient.id} was merged into {patient.merged_into}; use that record",
            merged_into=patient.merged_into,
        )


async def _refuse_taken_email(
    uow: PatientsUnitOfWork, email: str | None, patient_id: str | None
) -> None:
    if not email:
        return
    taken = await uow.patients.email_holder(email)
    if taken is not None and taken != patient_id:
        raise email_taken(existing=taken)


async def _check_referrer(
    uow: PatientsUnitOfWork, given: PatientFields, patient_id: str | None
) -> None:
    referral = given.get("referral")
    referrer = referral.patient_id if referral is not None else None
    if referrer is None:
        return
    if referrer == patient_id or await uow.patients.get(referrer) is None:
        raise InvalidRequest(
            f"referral.patient_id: no other patient {referrer!r}; give the id of the "
            "patient who referred them"
        )
