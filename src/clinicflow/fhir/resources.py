"""clinicflow's views as FHIR R4 resources (plain JSON): what each element means here.

* `HealthcareService` is a service of the catalog; `active` is whether it is bookable now,
  and a service not launched yet (waitlist) or with TBD durations or prices is marked as not
  available, with the reasons in `availabilityExceptions`.
* `Schedule` is one practitioner's calendar for one service; `Slot` one open start of one
  visit type on it (only `free` slots are computed: taken time is not listed).
* `Appointment` is a booking: held → pending, confirmed → booked, checked in → arrived,
  completed → fulfilled, no-show → noshow, cancelled and lapsed holds → cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from clinicflow.booking.views import BookingView
from clinicflow.catalog import Catalog
from clinicflow.catalog.domain.clinic import Practitioner, Service
from clinicflow.fhir import ids
from clinicflow.patients.views import PatientView

SYSTEM = "https://clinicflow.dev/fhir"
SERVICE_SYSTEM = f"{SYSTEM}/CodeSystem/service"
VISIT_TYPE_SYSTEM = f"{SYSTEM}/CodeSystem/visit-type"
TBD_EXTENSION = f"{SYSTEM}/StructureDefinition/not-launched"

STATUS = {
    "held": "pending",
    "confirmed": "booked",
    "checked_in": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
    "expired": "cancelled",
}
SEX = {"female": "female", "male": "male", "other": "other"}

Json = dict[str, object]


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def service_code(service: Service) -> Json:
    return {
        "coding": [{"system": SERVICE_SYSTEM, "code": service.key, "display": service.name}],
        "text": service.name,
    }


def visit_code(visit_type: str) -> Json:
    return {"coding": [{"system": VISIT_TYPE_SYSTEM, "code": visit_type}], "text": visit_type}


def practitioner(p: Practitioner) -> Json:
    given, _, family = p.name.rpartition(" ")
    name: Json = {"text": p.name, "family": family or p.name}
    if given:
        name["given"] = given.split()
    return {
        "resourceType": "Practitioner",
        "id": ids.of_key(p.key),
        "identifier": [{"system": f"{SYSTEM}/practitioner", "value": p.key}],
        "active": True,
        "name": [name],
        "qualification": [{"code": {"text": p.title}}] if p.title else [],
    }


def healthcare_service(s: Service) -> Json:
    resource: Json = {
        "resourceType": "HealthcareService",
        "id": ids.of_key(s.key),
        "identifier": [{"system": f"{SYSTEM}/service", "value": s.key}],
        "active": s.bookable,
        "name": s.name,
        "type": [service_code(s)],
        "appointmentRequired": True,
    }
    if s.reasons:
        resource["availabilityExceptions"] = "; ".join(s.reasons)
    if not s.active:
        resource["extension"] = [{"url": TBD_EXTENSION, "valueBoolean": True}]
        resource["comment"] = "Not launched yet" + (": join the waitlist" if s.waitlist else "")
    return resource


def schedule(catalog: Catalog, practitioner_key: str, service: Service) -> Json:
    return {
        "resourceType": "Schedule",
        "id": ids.schedule_id(practitioner_key, service.key),
        "active": service.bookable,
        "serviceType": [service_code(service)],
        "actor": [
            {
                "reference": f"Practitioner/{ids.of_key(practitioner_key)}",
                "display": catalog.practitioners[practitioner_key].name,
            },
            {"reference": f"HealthcareService/{ids.of_key(service.key)}"},
        ],
    }


def slot(key: ids.SlotKey, service: Service, end: datetime) -> Json:
    return {
        "resourceType": "Slot",
        "id": key.id,
        "serviceType": [service_code(service)],
        "appointmentType": visit_code(key.visit_type),
        "schedule": {"reference": f"Schedule/{ids.schedule_id(key.practitioner, key.service)}"},
        "status": "free",
        "start": instant(key.start),
        "end": instant(end),
    }


def appointment(view: BookingView, catalog: Catalog) -> Json:
    service = catalog.services.get(view.service)
    participants: list[Json] = [
        {
            "actor": {"reference": f"Practitioner/{ids.of_key(view.practitioner)}"},
            "required": "required",
            "status": "accepted",
        }
    ]
    if view.patient_id is not None:
        participants.append(
            {
                "actor": {"reference": f"Patient/{view.patient_id}"},
                "required": "required",
                "status": "accepted",
            }
        )
    resource: Json = {
        "resourceType": "Appointment",
        "id": view.id,
        "meta": {"lastUpdated": instant(view.updated_at)},
        "status": STATUS.get(view.status, "pending"),
        "appointmentType": visit_code(view.visit_type),
        "start": instant(view.start),
        "end": instant(view.end),
        "minutesDuration": view.duration,
        "created": instant(view.created_at),
        "participant": participants,
    }
    if service is not None:
        resource["serviceType"] = [service_code(service)]
    if view.cancel_reason and view.status == "cancelled":
        resource["cancelationReason"] = {"text": view.cancel_reason}
    if view.status == "held" and view.hold_expires_at is not None:
        resource["requestedPeriod"] = [
            {"start": instant(view.start), "end": instant(view.hold_expires_at)}
        ]
    return resource


def proposed(key: ids.SlotKey, end: datetime, service: Service) -> Json:
    """One `$find` answer: a time the practitioner is free for the visit."""
    return {
        "resourceType": "Appointment",
        "status": "proposed",
        "serviceType": [service_code(service)],
        "appointmentType": visit_code(key.visit_type),
        "start": instant(key.start),
        "end": instant(end),
        "minutesDuration": key.duration,
        "slot": [{"reference": f"Slot/{key.id}"}],
        "participant": [
            {
                "actor": {"reference": f"Practitioner/{ids.of_key(key.practitioner)}"},
                "required": "required",
                "status": "needs-action",
            }
        ],
    }


def patient(view: PatientView) -> Json:
    resource: Json = {
        "resourceType": "Patient",
        "id": view.id,
        "meta": {"versionId": str(view.version), "lastUpdated": instant(view.updated_at)},
        "active": view.status == "active",
    }
    name = _name(view.first_name, view.last_name)
    if name:
        resource["name"] = [name]
    telecom = _telecom(view.email, view.phone)
    if telecom:
        resource["telecom"] = telecom
    if view.sex in SEX:
        resource["gender"] = SEX[view.sex]
    if view.birth_date is not None:
        resource["birthDate"] = view.birth_date.isoformat()
    if view.address is not None:
        a = view.address
        lines = [a.line1, *([a.line2] if a.line2 else [])]
        resource["address"] = [
            {"line": lines, "city": a.city, "state": a.state, "postalCode": a.zip}
        ]
    if view.merged_into:
        resource["link"] = [
            {"other": {"reference": f"Patient/{view.merged_into}"}, "type": "replaced-by"}
        ]
    return resource


def _name(first: str | None, last: str | None) -> Json:
    name: Json = {}
    if last:
        name["family"] = last
    if first:
        name["given"] = [first]
    return name


def _telecom(email: str | None, phone: str | None) -> Sequence[Json]:
    out: list[Json] = []
    if phone:
        out.append({"system": "phone", "value": phone})
    if email:
        out.append({"system": "email", "value": email})
    return out
