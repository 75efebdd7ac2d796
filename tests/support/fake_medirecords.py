"""A fake MediRecords FHIR API on loopback, speaking the wire format the adapter
(adapters/ehr/medirecords.py) meets in production (reference/integrations.md §6, 6.1):

- `Authorization: Bearer <API token>`, else 401 with an OperationOutcome; every answer is
  `application/fhir+json`, every error an OperationOutcome;
- `GET /v1/Patient?…`: a `searchset` Bundle; `family`, `given` (case-insensitive prefix),
  `birthdate`, `gender`, `identifier=system|value` — and, as MediRecords documents, an
  `identifier` search without `family`, `birthdate` and `gender` is refused (400);
- `POST /v1/Patient` with `If-None-Exist: identifier=…` (FHIR conditional create: none → 201
  with `Location` and `ETag`, one → 200, several → 412); `GET /v1/Patient/{id}` (404 else);
- `PUT /v1/Appointment?identifier=…` (conditional update: none → 201 created, one → 200
  updated, several → 412), `GET /v1/Appointment?identifier=…`, `PUT /v1/Appointment/{id}`;
- `edit()` changes a patient as the clinic's staff would in MediRecords (a new versionId),
  and `webhook()` is the body MediRecords posts about it;
- `answers`/`failing` (FakeVendor): statuses answered first, as an outage; `hold` keeps an
  appointment write in flight (after storing it) until released, so a test can kill the
  process that sent it.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from support.fake_http import Reply, Request
from support.fake_vendor import FakeVendor

TOKEN = "medirecords-api-token-for-tests"
FHIR_JSON = "application/fhir+json"
Json = dict[str, Any]


def outcome(status: int, code: str, diagnostics: str, **headers: str) -> Reply:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }
    return Reply(status, {"Content-Type": FHIR_JSON, **headers}, json.dumps(body).encode())


def fhir(status: int, resource: Json, **headers: str) -> Reply:
    return Reply(status, {"Content-Type": FHIR_JSON, **headers}, json.dumps(resource).encode())


class FakeMediRecords(FakeVendor):
    def __init__(self) -> None:
        super().__init__()
        self.api_url = f"{self.url}/v1"
        self.patients: dict[str, Json] = {}
        self.appointments: dict[str, Json] = {}
        self.appointment_creates = 0
        self.patient_creates = 0
        self.log: list[tuple[str, str]] = []  # (method, target)
        self.hold = False  # appointment writes wait in flight (after storing) while set
        self.held = threading.Event()  # set when a write is being held
        self._release = threading.Event()

    # -- set-up and observation -------------------------------------------------------------

    def add_patient(self, **fields: Any) -> str:
        """A patient made by the clinic in MediRecords itself."""
        patient_id = str(uuid.uuid4())
        with self._lock:
            self.patients[patient_id] = self._versioned(
                {"resourceType": "Patient", **fields}, patient_id
            )
        return patient_id

    def edit(self, patient_id: str, **fields: Any) -> None:
        """A change made in MediRecords: the fields replaced, a new version."""
        with self._lock:
            changed = {**self.patients[patient_id], **fields}
            self.patients[patient_id] = self._versioned(changed, patient_id)

    def webhook(self, event: str, patient_id: str) -> Json:
        """The body MediRecords posts for `event` (e.g. "patient.updated")."""
        with self._lock:
            patient = copy.deepcopy(self.patients[patient_id])
        return {
            "id": str(uuid.uuid4()),
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "event": {
                "hub.topic": "3f1c2a9e-5d7b-4c1e-9a2b-6e8f0d4c7b1a",
                "hub.event": event,
                "context": [
                    {
                        "key": "Patient",
                        "resource": {
                            "resourceType": "Bundle",
                            "type": "collection",
                            "entry": [
                                {
                                    "fullUrl": f"{self.api_url}/Patient/{patient_id}",
                                    "resource": patient,
                                }
                            ],
                        },
                    }
                ],
            },
        }

    def appointments_for(self, system: str, value: str) -> list[Json]:
        with self._lock:
            return [copy.deepcopy(a) for a in self.appointments.values() if _has(a, system, value)]

    def release(self) -> None:
        self.hold = False
        self._release.set()

    def stop(self) -> None:
        self.release()
        super().stop()

    # -- dispatch ---------------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply:
        with self._lock:
            self.log.append((request.method, request.target))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return outcome(401, "login", "Authentication failed")
        forced = self._forced()
        if forced is not None:
            return outcome(forced, "transient", "Service unavailable", **{"Retry-After": "0"})
        path = request.path.removeprefix("/v1")
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.target).query).items()}
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["Patient"]:
            return self._patient(request, parts[1:], query)
        if parts[:1] == ["Appointment"]:
            return self._appointment(request, parts[1:], query)
        return outcome(404, "not-supported", f"no resource {path}")

    def _patient(self, request: Request, rest: list[str], query: dict[str, str]) -> Reply:
        if request.method == "GET" and not rest:
            if "identifier" in query and not all(
                k in query for k in ("family", "birthdate", "gender")
            ):
                return outcome(
                    400, "required", "identifier search requires family, birthdate and gender"
                )
            with self._lock:
                found = [p for p in self.patients.values() if _matches(p, query)]
            return fhir(200, self._bundle(found))
        if request.method == "GET" and len(rest) == 1:
            with self._lock:
                found_one = self.patients.get(unquote(rest[0]))
            if found_one is None:
                return outcome(404, "not-found", "Resource Patient/… is not known")
            return fhir(200, found_one, ETag=f'W/"{found_one["meta"]["versionId"]}"')
        if request.method == "POST" and not rest:
            return self._create_patient(request)
        return outcome(405, "not-supported", "not supported on Patient")

    def _create_patient(self, request: Request) -> Reply:
        body = json.loads(request.body)
        if body.get("resourceType") != "Patient":
            return outcome(400, "invalid", "body must be a Patient")
        condition = request.headers.get("if-none-exist")
        with self._lock:
            if condition:
                criteria = {k: v[0] for k, v in parse_qs(condition).items()}
                existing = [p for p in self.patients.values() if _matches(p, criteria)]
                if len(existing) > 1:
                    return outcome(412, "duplicate", "more than one match")
                if existing:
                    return fhir(200, existing[0])
            patient_id = str(uuid.uuid4())
            made = self._versioned(body, patient_id)
            self.patients[patient_id] = made
            self.patient_creates += 1
        location = f"{self.api_url}/Patient/{patient_id}/_history/1"
        return fhir(201, made, Location=location, ETag='W/"1"')

    def _appointment(self, request: Request, rest: list[str], query: dict[str, str]) -> Reply:
        if request.method == "GET" and not rest:
            system, _, value = query.get("identifier", "").partition("|")
            return fhir(200, self._bundle(self.appointments_for(system, value)))
        if request.method != "PUT":
            return outcome(405, "not-supported", "not supported on Appointment")
        body = json.loads(request.body)
        if body.get("resourceType") != "Appointment" or "status" not in body:
            return outcome(400, "invalid", "body must be an Appointment with a status")
        with self._lock:
            if rest:
                target = unquote(rest[0])
                if target not in self.appointments:
                    return outcome(404, "not-found", "Resource Appointment/… is not known")
                status = 200
            else:
                system, _, value = query.get("identifier", "").partition("|")
                matches = [k for k, a in self.appointments.items() if _has(a, system, value)]
                if len(matches) > 1:
                    return outcome(412, "duplicate", "more than one match")
                target = matches[0] if matches else str(uuid.uuid4())
                status = 200 if matches else 201
                if not matches:
                    self.appointment_creates += 1
            stored = self._versioned(body, target)
            self.appointments[target] = stored
        if self.hold:
            self.held.set()
            self._release.wait()  # the process that sent it is killed meanwhile
        return fhir(status, stored)

    def _versioned(self, resource: Json, resource_id: str) -> Json:
        before = self.patients.get(resource_id) or self.appointments.get(resource_id) or {}
        version = int((before.get("meta") or {}).get("versionId", "0")) + 1
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return {
            **resource,
            "id": resource_id,
            "meta": {"versionId": str(version), "lastUpdated": now},
        }

    def _bundle(self, resources: list[Json]) -> Json:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "entry": [
                {
                    "fullUrl": f"{self.api_url}/{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in resources
            ],
        }


def _has(resource: Json, system: str, value: str) -> bool:
    return any(
        i.get("system") == system and i.get("value") == value
        for i in resource.get("identifier") or []
    )


def _matches(patient: Json, query: dict[str, str]) -> bool:
    names = patient.get("name") or [{}]
    for key, wanted in query.items():
        if key == "_count":
            continue
        if key == "identifier":
            system, _, value = wanted.partition("|")
            if not _has(patient, system, value):
                return False
        elif key in ("family", "given"):
            values = [
                n.get("family") if key == "family" else " ".join(n.get("given") or [])
                for n in names
            ]
            if not any(v and v.casefold().startswith(wanted.casefold()) for v in values):
                return False
        elif key == "birthdate":
            if patient.get("birthDate") != wanted:
                return False
        elif key == "gender":
            if patient.get("gender") != wanted:
                return False
        else:
            return False  # a parameter this fake does not know matches nothing
    return True
