"""What the FHIR API serves, written once: the CapabilityStatement is built from this table,
and a test walks it against the routes actually mounted (tests/integration/test_fhir_api.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clinicflow.fhir.resources import Json

FHIR_VERSION = "4.0.1"


@dataclass(frozen=True, slots=True)
class Served:
    type: str
    interactions: tuple[str, ...]  # read, search-type, update, patch
    params: tuple[tuple[str, str], ...] = ()  # (name, FHIR search parameter type)
    operations: tuple[str, ...] = ()  # type-level operations, without the `$`
    documentation: str = ""


COUNT = ("_count", "number")
SERVED: tuple[Served, ...] = (
    Served(
        "Patient",
        ("read", "search-type"),
        (("_id", "token"), ("email", "token"), ("phone", "token"), COUNT),
        documentation="system/Patient.read; a patient signed in sees their own record only",
    ),
    Served("Practitioner", ("read", "search-type"), (("_id", "token"), COUNT)),
    Served(
        "HealthcareService",
        ("read", "search-type"),
        (("_id", "token"), ("active", "token"), COUNT),
        documentation="active = bookable now; services not launched carry the not-launched "
        "extension",
    ),
    Served(
        "Schedule",
        ("read", "search-type"),
        (("_id", "token"), ("actor", "reference"), ("service-type", "token"), COUNT),
    ),
    Served(
        "Slot",
        ("read", "search-type"),
        (
            ("schedule", "reference"),
            ("start", "date"),
            ("status", "token"),
            ("service-type", "token"),
            ("appointment-type", "token"),
            COUNT,
        ),
        documentation="free slots computed by the availability engine (system/Slot.read)",
    ),
    Served(
        "Appointment",
        ("read", "search-type", "update", "patch"),
        (
            ("patient", "reference"),
            ("practitioner", "reference"),
            ("date", "date"),
            ("status", "token"),
            COUNT,
        ),
        ("find", "hold", "book"),
        documentation="update and patch change only status to cancelled (the clinic's policy "
        "applies); system/Appointment.read and system/Appointment.write",
    ),
)

OPERATION_DEFINITIONS = {
    "find": "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find",
    "hold": "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-hold",
    "book": "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-book",
}


def statement(base_url: str, token_url: str, software: str, version: str, today: date) -> Json:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": today.isoformat(),
        "kind": "instance",
        "software": {"name": software, "version": version},
        "implementation": {"description": f"{software} FHIR R4 scheduling", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": f"SMART Backend Services; token endpoint {token_url}",
                },
                "resource": [_resource(s) for s in SERVED],
            }
        ],
    }


def _resource(s: Served) -> Json:
    resource: Json = {
        "type": s.type,
        "interaction": [{"code": i} for i in s.interactions],
        "searchParam": [{"name": n, "type": t} for n, t in s.params],
    }
    if s.operations:
        resource["operation"] = [
            {"name": op, "definition": OPERATION_DEFINITIONS[op]} for op in s.operations
        ]
    if s.documentation:
        resource["documentation"] = s.documentation
    return resource
