"""Patients and appointments as FHIR, read through the API's own use cases (so every read
of a patient's data is scoped and audited as the API's is), and cancelling an appointment by
`PATCH` (JSON Patch) or `PUT` of status `cancelled`, under the clinic's cancellation policy."""

from __future__ import annotations

from fastapi import APIRouter, Request

from clinicflow.booking.api import BookingReaderDep, BookingServiceDep
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.catalog.api import CatalogDep
from clinicflow.fhir import BASE, ids, params, resources
from clinicflow.fhir.access import needs
from clinicflow.fhir.catalog_routes import page
from clinicflow.fhir.outcome import FhirResponse
from clinicflow.fhir.smart.domain.scopes import APPOINTMENT_READ, APPOINTMENT_WRITE, PATIENT_READ
from clinicflow.infra.web import CurrentActor
from clinicflow.patients import InvalidContact, normalize_email, normalize_phone
from clinicflow.patients.api import PatientReaderDep
from clinicflow.patients.views import PatientView
from clinicflow.shared.errors import InvalidRequest

router = APIRouter(prefix=BASE, include_in_schema=False)
MAX_APPOINTMENTS = 1000  # one search's matches, paged by _count


@router.get("/Patient/{patient_id}")
async def patient(reader: PatientReaderDep, actor: CurrentActor, patient_id: str) -> FhirResponse:
    needs(actor, PATIENT_READ)
    return FhirResponse(resources.patient(await reader.get(actor, patient_id)))


@router.get("/Patient")
async def patients(request: Request, reader: PatientReaderDep, actor: CurrentActor) -> FhirResponse:
    needs(actor, PATIENT_READ)
    wanted = params.one(request, "_id")
    email, phone = params.one(request, "email"), params.one(request, "phone")
    found: list[PatientView]
    if wanted is not None:
        found = [await reader.get(actor, wanted)]
    elif actor.patient_id is not None and email is None and phone is None:
        found = [await reader.get(actor, actor.patient_id)]  # a patient: their own record
    elif (email is None) == (phone is None):
        raise InvalidRequest("search Patient by _id, or by exactly one of email or phone")
    else:
        try:
            email = normalize_email(params.token(email)) if email else None
            phone = normalize_phone(params.token(phone)) if phone else None
        except InvalidContact as exc:
            raise InvalidRequest(f"{'email' if email else 'phone'}: {exc}") from None
        found = await reader.search(actor, email=email, phone=phone)
    return page(request, "Patient", [resources.patient(p) for p in found])


@router.get("/Appointment/{booking_id}")
async def appointment(
    reader: BookingReaderDep, catalog: CatalogDep, actor: CurrentActor, booking_id: str
) -> FhirResponse:
    needs(actor, APPOINTMENT_READ)
    return FhirResponse(resources.appointment(await reader.get(actor, booking_id), catalog))


@router.get("/Appointment")
async def appointments(
    request: Request, reader: BookingReaderDep, catalog: CatalogDep, actor: CurrentActor
) -> FhirResponse:
    needs(actor, APPOINTMENT_READ)
    patient_ref, practitioner_ref = (
        params.one(request, "patient"),
        params.one(request, "practitioner"),
    )
    statuses = {
        params.token(s) for v in request.query_params.getlist("status") for s in v.split(",")
    }
    lo, hi = params.date_range(request.query_params.getlist("date"), catalog.clinic.tz)
    practitioner = None
    if practitioner_ref is not None:
        wanted = params.reference(practitioner_ref, "Practitioner")
        practitioner = ids.key_of(wanted, catalog.practitioners) or "-"  # unknown: nobody
    patient_id = params.reference(patient_ref, "Patient") if patient_ref is not None else None
    views = await reader.search(actor, practitioner, lo, hi, MAX_APPOINTMENTS, patient_id)
    found = [resources.appointment(v, catalog) for v in views]
    if statuses:
        found = [a for a in found if a["status"] in statuses]
    return page(request, "Appointment", found)


def _cancellation(body: dict[str, object]) -> str | None:
    """The reason of an Appointment resource whose status is `cancelled`."""
    if body.get("resourceType") != "Appointment" or body.get("status") != "cancelled":
        raise InvalidRequest(
            "only cancelling is supported: send the Appointment with status cancelled"
        )
    reason = body.get("cancelationReason")
    text = reason.get("text") if isinstance(reason, dict) else None
    return str(text)[:500] if isinstance(text, str) and text else None


@router.put("/Appointment/{booking_id}")
async def update(
    request: Request,
    bookings: BookingServiceDep,
    catalog: CatalogDep,
    actor: CurrentActor,
    booking_id: str,
) -> FhirResponse:
    needs(actor, APPOINTMENT_WRITE)
    body = await params.body(request)
    if body.get("id") not in (None, booking_id):
        raise InvalidRequest("the Appointment's id must be the one in the URL")
    view = await bookings.act(actor, booking_id, Action.CANCEL, _cancellation(body))
    return FhirResponse(resources.appointment(view, catalog))


@router.patch("/Appointment/{booking_id}")
async def patch(
    request: Request,
    bookings: BookingServiceDep,
    catalog: CatalogDep,
    actor: CurrentActor,
    booking_id: str,
) -> FhirResponse:
    needs(actor, APPOINTMENT_WRITE)
    ops = await params.patch_body(request)
    cancelled, reason = False, None
    for op in ops:
        path, value = op.get("path"), op.get("value")
        if op.get("op") in ("replace", "add") and path == "/status" and value == "cancelled":
            cancelled = True
        elif op.get("op") in ("replace", "add") and path == "/cancelationReason":
            text = value.get("text") if isinstance(value, dict) else None
            reason = str(text)[:500] if isinstance(text, str) and text else None
        else:
            raise InvalidRequest(
                "only cancelling is supported: replace /status with cancelled (and optionally "
                "add /cancelationReason)"
            )
    if not cancelled:
        raise InvalidRequest("replace /status with cancelled")
    view = await bookings.act(actor, booking_id, Action.CANCEL, reason)
    return FhirResponse(resources.appointment(view, catalog))
