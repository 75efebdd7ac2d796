"""Patient routes: parse → use case → schema. Access is decided in the use cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.domain.contact import InvalidContact, normalize_email, normalize_phone
from clinicflow.patients.errors import MergeConflict, PatientExists, PatientMerged, PatientNotFound
from clinicflow.patients.records.service import PatientReader, PatientService
from clinicflow.patients.schemas import (
    LegalHoldIn,
    MergeIn,
    PatientFields,
    PatientList,
    PatientOut,
    RecordOut,
)
from clinicflow.shared.errors import InvalidRequest

router = APIRouter(prefix="/v1/patients", tags=["patients"])

PatientServiceDep = Annotated[PatientService, Depends(provided(PatientService))]
PatientReaderDep = Annotated[PatientReader, Depends(provided(PatientReader))]


@router.post(
    "",
    **documented(
        "createPatient",
        "Register a patient",
        *SIGNED_IN,
        InvalidRequest,
        PatientExists,
        status_code=201,
    ),
)
async def create(
    service: PatientServiceDep, actor: CurrentActor, body: PatientFields
) -> PatientOut:
    view = await service.create(actor, PatientChanges(body.changes()))
    return PatientOut.of(view)


@router.get(
    "",
    **documented("searchPatients", "Find a patient by email or phone", *SIGNED_IN, InvalidRequest),
)
async def search(
    reader: PatientReaderDep,
    actor: CurrentActor,
    email: Annotated[str | None, Query(max_length=254)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
) -> PatientList:
    if bool(email) == bool(phone):
        raise InvalidRequest("search by exactly one of ?email= or ?phone=")
    try:
        email = normalize_email(email) if email else None
        phone = normalize_phone(phone) if phone else None
    except InvalidContact as exc:
        raise InvalidRequest(f"{'email' if email else 'phone'}: {exc}") from exc
    found = await reader.search(actor, email=email, phone=phone)
    return PatientList(patients=[PatientOut.of(v) for v in found])


@router.get(
    "/{patient_id}",
    **documented("getPatient", "Read a patient's details", *SIGNED_IN, PatientNotFound),
)
async def get(reader: PatientReaderDep, actor: CurrentActor, patient_id: str) -> PatientOut:
    return PatientOut.of(await reader.get(actor, patient_id))


@router.patch(
    "/{patient_id}",
    **documented(
        "updatePatient",
        "Change a patient's details",
        *SIGNED_IN,
        PatientNotFound,
        InvalidRequest,
        PatientExists,
        PatientMerged,
    ),
)
async def patch(
    service: PatientServiceDep, actor: CurrentActor, patient_id: str, body: PatientFields
) -> PatientOut:
    changes = PatientChanges(body.changes())
    return PatientOut.of(await service.update(actor, patient_id, changes))


@router.get(
    "/{patient_id}/record",
    **documented(
        "getPatientRecord",
        "Read a patient's record: details and visits",
        *SIGNED_IN,
        PatientNotFound,
    ),
)
async def record(reader: PatientReaderDep, actor: CurrentActor, patient_id: str) -> RecordOut:
    return RecordOut.of(await reader.record(actor, patient_id))


@router.post(
    "/{patient_id}/merge",
    **documented(
        "mergePatients",
        "Merge a duplicate patient record into another",
        *SIGNED_IN,
        PatientNotFound,
        InvalidRequest,
        PatientMerged,
        MergeConflict,
    ),
)
async def merge(
    service: PatientServiceDep, actor: CurrentActor, patient_id: str, body: MergeIn
) -> PatientOut:
    return PatientOut.of(await service.merge(actor, patient_id, body.into))


@router.put(
    "/{patient_id}/legal-hold",
    **documented(
        "setLegalHold",
        "Put a patient's record on legal hold, or lift it",
        *SIGNED_IN,
        PatientNotFound,
        PatientMerged,
    ),
)
async def legal_hold(
    service: PatientServiceDep, actor: CurrentActor, patient_id: str, body: LegalHoldIn
) -> PatientOut:
    view = await service.set_legal_hold(actor, patient_id, body.on, body.reason)
    return PatientOut.of(view)
