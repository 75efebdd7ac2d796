"""FHIR R4 Patient and Appointment as MediRecords exchanges them, to and from the sync's
values (integrations.domain.ehr)."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from clinicflow.integrations.domain.ehr import Demographics, RemotePatient
from clinicflow.integrations.ports import SyncedVisit
from clinicflow.patients import InvalidContact, normalize_email, normalize_phone

Json = dict[str, Any]
PRACTITIONER_SYSTEM = "urn:clinicflow:practitioner"
SERVICE_SYSTEM = "urn:clinicflow:service"
VISIT_TYPE_SYSTEM = "urn:clinicflow:visit-type"


def patient_resource(ours: Demographics, system: str, patient_id: str) -> Json:
    resource: Json = {
        "resourceType": "Patient",
        "identifier": [{"system": system, "value": patient_id}],
        "active": True,
    }
    name: Json = {"use": "official"}
    if ours.family:
        name["family"] = ours.family
    if ours.given:
        name["given"] = [ours.given]
    if len(name) > 1:
        resource["name"] = [name]
    if ours.gender:
        resource["gender"] = ours.gender
    if ours.birth_date:
        resource["birthDate"] = ours.birth_date.isoformat()
    telecom = []
    if ours.phone:
        telecom.append({"system": "phone", "value": ours.phone, "use": "mobile"})
    if ours.email:
        telecom.append({"system": "email", "value": ours.email})
    if telecom:
        resource["telecom"] = telecom
    return resource


def remote_patient(resource: Json) -> RemotePatient:
    names = [n for n in resource.get("name") or [] if isinstance(n, dict)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = official.get("given") or []
    telecom = [t for t in resource.get("telecom") or [] if isinstance(t, dict)]
    birth = resource.get("birthDate")
    meta = resource.get("meta") or {}
    identifiers = frozenset(
        (str(i.get("system", "")), str(i.get("value", "")))
        for i in resource.get("identifier") or []
        if isinstance(i, dict)
    )
    return RemotePatient(
        id=str(resource["id"]),
        version=str(meta["versionId"]) if meta.get("versionId") is not None else None,
        demographics=Demographics(
            given=" ".join(str(g) for g in given) or None,
            family=official.get("family"),
            birth_date=_date(birth),
            gender=resource.get("gender"),
            email=_contact(telecom, "email"),
            phone=_contact(telecom, "phone"),
        ),
        identifiers=identifiers,
    )


def appointment_resource(
    visit: SyncedVisit, remote_patient_id: str, system: str, status: str = "booked"
) -> Json:
    minutes = int((visit.end - visit.start).total_seconds() // 60)
    return {
        "resourceType": "Appointment",
        "identifier": [{"system": system, "value": visit.booking_id}],
        "status": status,
        "serviceType": [{"coding": [{"system": SERVICE_SYSTEM, "code": visit.service}]}],
        "appointmentType": {"coding": [{"system": VISIT_TYPE_SYSTEM, "code": visit.visit_type}]},
        "start": _instant(visit.start),
        "end": _instant(visit.end),
        "minutesDuration": minutes,
        "participant": [
            {
                "actor": {"reference": f"Patient/{remote_patient_id}"},
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {
                    "identifier": {"system": PRACTITIONER_SYSTEM, "value": visit.practitioner}
                },
                "required": "required",
                "status": "accepted",
            },
        ],
    }


def _instant(at: Any) -> str:
    return str(at.astimezone(UTC).isoformat().replace("+00:00", "Z"))


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _contact(telecom: list[Json], system: str) -> str | None:
    for entry in telecom:
        value = entry.get("value")
        if entry.get("system") != system or not isinstance(value, str):
            continue
        try:
            return normalize_email(value) if system == "email" else normalize_phone(value)
        except InvalidContact:
            continue  # a value we could not write to our record is no value to compare
    return None
