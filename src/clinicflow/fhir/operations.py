"""IHE ITI Scheduling on clinicflow's use cases: `Appointment/$find` [ITI-115] asks the same
availability engine as `GET /v1/availability`, `$hold` [ITI-116] places a clinicflow hold
and `$book` [ITI-117] books as `POST /v1/bookings` does (the same use case: no double
booking, idempotent per caller by `Idempotency-Key` or, failing that, the client's
`X-Request-ID`).

Inputs come as query parameters (`$find` by GET) or a Parameters resource (or, for `$hold`
and `$book`, the Appointment itself). An appointment names its time by a `slot` reference
(a Slot id from `$find` or a Slot search) or by `start`, `serviceType`, `appointmentType`,
`minutesDuration` and a Practitioner participant.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from clinicflow.booking.api import AvailabilityDep, BookingServiceDep
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.catalog import Catalog
from clinicflow.catalog.api import CatalogDep
from clinicflow.fhir import BASE, bundles, ids, params, resources
from clinicflow.fhir.access import needs
from clinicflow.fhir.outcome import FhirResponse
from clinicflow.fhir.smart.domain.scopes import APPOINTMENT_WRITE, PATIENT_READ, SLOT_READ
from clinicflow.infra.web import ClockDep, CurrentActor
from clinicflow.patients import InvalidContact, PatientDetails, normalize_email, normalize_phone
from clinicflow.patients.api import PatientReaderDep
from clinicflow.shared.actor import Actor
from clinicflow.shared.errors import InvalidRequest
from clinicflow.shared.numerals import is_decimal

router = APIRouter(prefix=BASE, include_in_schema=False)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{name}: required")
    return value.strip()[:200]


def _code(concept: object) -> str | None:
    """The code of a CodeableConcept (or of the first of a list of them)."""
    if isinstance(concept, list):
        concept = concept[0] if concept else None
    if not isinstance(concept, dict):
        return None
    codings = concept.get("coding")
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    text = concept.get("text")
    return text if isinstance(text, str) else None


def _first_visit(catalog: Catalog, service: str) -> tuple[str, int] | None:
    found = catalog.services.get(service)
    for vt in found.visit_types.values() if found else ():
        if vt.durations:
            return vt.key, vt.durations[0]
    return None


@router.api_route("/Appointment/$find", methods=["GET", "POST"])
async def find(
    request: Request,
    catalog: CatalogDep,
    clock: ClockDep,
    finder: AvailabilityDep,
    actor: CurrentActor,
) -> FhirResponse:
    needs(actor, SLOT_READ)
    asked: dict[str, object] = dict(request.query_params.items())
    if request.method == "POST":
        asked |= params.parameters(await params.body(request))
    tz = catalog.clinic.tz
    start = params.date_range([_text(asked.get("start"), "start")], tz)[0]
    end_text = asked.get("end")
    end = params.date_range([f"lt{_text(end_text, 'end')}"], tz)[1] if end_text else None
    if isinstance(end_text, str) and len(end_text) == 10:
        end = params.date_range([end_text], tz)[1]  # an end date counts whole
    lo = start or clock.now()
    hi = end or lo + timedelta(days=7)
    service = params.token(_text(asked.get("service-type"), "service-type"))
    default = _first_visit(catalog, service)
    visit_type = params.token(str(asked.get("visit-type") or (default[0] if default else "")))
    duration_text = str(asked.get("duration") or "")
    duration = int(duration_text) if is_decimal(duration_text) and len(duration_text) < 5 else None
    if duration is None:
        vt = catalog.services[service].visit_types.get(visit_type) if default else None
        duration = vt.durations[0] if vt and vt.durations else 0
    if duration <= 0:
        raise InvalidRequest("duration: give the visit's minutes (or a visit-type with fixed ones)")
    practitioner = None
    if asked.get("practitioner"):
        wanted = params.reference(str(asked["practitioner"]), "Practitioner")
        practitioner = ids.key_of(wanted, catalog.practitioners) or wanted
    found = await finder.slots(service, visit_type, duration, lo, hi, practitioner)
    proposed = [
        resources.proposed(
            ids.SlotKey(p, service, visit_type, duration, one.start),
            one.end,
            catalog.services[service],
        )
        for one in found
        for p in one.practitioners
    ]
    return FhirResponse(bundles.collection(proposed))


def _slot_of(catalog: Catalog, appointment: object) -> SlotRequest:
    if not isinstance(appointment, dict) or appointment.get("resourceType") != "Appointment":
        raise InvalidRequest("appointment: give the Appointment (a proposed one from $find)")
    visit_types = {vt for s in catalog.services.values() for vt in s.visit_types}
    slots = appointment.get("slot")
    for ref in slots if isinstance(slots, list) else []:
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            key = ids.parse_slot(
                params.reference(ref["reference"], "Slot"),
                catalog.practitioners,
                catalog.services,
                visit_types,
            )
            if key is None:
                raise InvalidRequest("slot: not a Slot this server offered; search Slot again")
            return SlotRequest(
                key.service, key.visit_type, key.duration, key.start, key.practitioner
            )
    start_text = _text(appointment.get("start"), "appointment.start")
    start = params.date_range([start_text], catalog.clinic.tz)[0]
    service = _code(appointment.get("serviceType"))
    visit_type = _code(appointment.get("appointmentType"))
    minutes = appointment.get("minutesDuration")
    if start is None or service is None or visit_type is None or not isinstance(minutes, int):
        raise InvalidRequest(
            "appointment: give a slot reference, or start, serviceType, appointmentType and "
            "minutesDuration"
        )
    return SlotRequest(service, visit_type, minutes, start, _practitioner_of(catalog, appointment))


def _practitioner_of(catalog: Catalog, appointment: dict[str, object]) -> str | None:
    participants = appointment.get("participant")
    for part in participants if isinstance(participants, list) else []:
        actor = part.get("actor") if isinstance(part, dict) else None
        ref = actor.get("reference") if isinstance(actor, dict) else None
        if isinstance(ref, str) and "Practitioner/" in ref:
            wanted = params.reference(ref, "Practitioner")
            return ids.key_of(wanted, catalog.practitioners) or wanted
    return None


def _patient_ref(appointment: object) -> str | None:
    participants = appointment.get("participant") if isinstance(appointment, dict) else None
    for part in participants if isinstance(participants, list) else []:
        actor = part.get("actor") if isinstance(part, dict) else None
        ref = actor.get("reference") if isinstance(actor, dict) else None
        if isinstance(ref, str) and "Patient/" in ref:
            return params.reference(ref, "Patient")
    return None


@router.post("/Appointment/$hold", status_code=201)
async def hold(
    request: Request, bookings: BookingServiceDep, catalog: CatalogDep, actor: CurrentActor
) -> FhirResponse:
    needs(actor, APPOINTMENT_WRITE)
    asked = params.parameters(await params.body(request))
    view = await bookings.hold(_slot_of(catalog, asked.get("appointment")))
    return FhirResponse(resources.appointment(view, catalog), 201)


def _details(resource: object) -> PatientDetails:
    """Who the visit is for, from a Patient resource: a name and an email or phone."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        raise InvalidRequest(
            "patient: give a Patient (name and telecom), or a Patient/<id> participant"
        )
    names = resource.get("name")
    name = names[0] if isinstance(names, list) and names and isinstance(names[0], dict) else {}
    given = name.get("given")
    first = given[0] if isinstance(given, list) and given else None
    email = phone = None
    telecom = resource.get("telecom")
    try:
        for point in telecom if isinstance(telecom, list) else []:
            value = point.get("value") if isinstance(point, dict) else None
            if isinstance(value, str) and point.get("system") == "email" and email is None:
                email = normalize_email(value)
            if isinstance(value, str) and point.get("system") == "phone" and phone is None:
                phone = normalize_phone(value)
    except InvalidContact as exc:
        raise InvalidRequest(f"patient.telecom: {exc}") from None
    family = name.get("family")
    if not isinstance(first, str) or not isinstance(family, str) or not (email or phone):
        raise InvalidRequest("patient: give name.given, name.family and an email or phone")
    return PatientDetails(first[:100], family[:100], email, phone)


async def _patient(
    reader: PatientReaderDep, actor: Actor, asked: dict[str, object]
) -> PatientDetails | None:
    if "patient" in asked and isinstance(asked["patient"], dict):
        return _details(asked["patient"])
    ref = _patient_ref(asked.get("appointment"))
    if ref is None or actor.patient_id is not None:
        return None  # a signed-in patient books for themselves
    needs(actor, PATIENT_READ)
    known = await reader.get(actor, ref)
    if not known.first_name or not known.last_name or not (known.email or known.phone):
        raise InvalidRequest("the patient's record lacks a name or contact; send the Patient")
    return PatientDetails(known.first_name, known.last_name, known.email, known.phone)


@router.post("/Appointment/$book", status_code=201)
async def book(
    request: Request,
    bookings: BookingServiceDep,
    reader: PatientReaderDep,
    catalog: CatalogDep,
    actor: CurrentActor,
) -> FhirResponse:
    needs(actor, APPOINTMENT_WRITE)
    asked = params.parameters(await params.body(request))
    appointment = asked.get("appointment")
    slot = _slot_of(catalog, appointment)
    hold_id = appointment.get("id") if isinstance(appointment, dict) else None
    details = await _patient(reader, actor, asked)
    key = request.headers.get("idempotency-key") or request.headers.get("x-request-id")
    req = BookRequest(slot, details, hold_id if isinstance(hold_id, str) else None)
    view, replayed = await bookings.book(actor, req, key[:255] if key else None)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return FhirResponse(resources.appointment(view, catalog), 200 if replayed else 201, headers)
