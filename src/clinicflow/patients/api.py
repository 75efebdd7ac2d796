"""Patient routes: parse → use case → schema. Access is decided in the use cases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Query, Request

from clinicflow.infra.web import CurrentActor, part
from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.contact import InvalidContact, normalize_email, normalize_phone
from clinicflow.patients.handlers import PatientService
from clinicflow.patients.reads import PatientReader
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


def _service(request: Request) -> PatientService:
    return cast(PatientService, part(request, "patients"))


def _reader(request: Request) -> PatientReader:
    return cast(PatientReader, part(request, "patient_reads"))


@router.post("", status_code=201)
async def create(request: Request, actor: CurrentActor, body: PatientFields) -> PatientOut:
    view = await _service(request).create(actor, PatientChanges(body.changes()))
    return PatientOut.of(view)


@router.get("")
async def search(
    request: Request,
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
    found = await _reader(request).search(actor, email=email, phone=phone)
    return PatientList(patients=[PatientOut.of(v) for v in found])


@router.get("/{patient_id}")
async def get(request: Request, actor: CurrentActor, patient_id: str) -> PatientOut:
    return PatientOut.of(await _reader(request).get(actor, patient_id))


@router.patch("/{patient_id}")
async def patch(
    request: Request, actor: CurrentActor, patient_id: str, body: PatientFields
) -> PatientOut:
    changes = PatientChanges(body.changes())
    return PatientOut.of(await _service(request).update(actor, patient_id, changes))


@router.get("/{patient_id}/record")
async def record(request: Request, actor: CurrentActor, patient_id: str) -> RecordOut:
    return RecordOut.of(await _reader(request).record(actor, patient_id))


@router.post("/{patient_id}/merge")
async def merge(
    request: Request, actor: CurrentActor, patient_id: str, body: MergeIn
) -> PatientOut:
    return PatientOut.of(await _service(request).merge(actor, patient_id, body.into))


@router.put("/{patient_id}/legal-hold")
async def legal_hold(
    request: Request, actor: CurrentActor, patient_id: str, body: LegalHoldIn
) -> PatientOut:
    view = await _service(request).set_legal_hold(actor, patient_id, body.on, body.reason)
    return PatientOut.of(view)
