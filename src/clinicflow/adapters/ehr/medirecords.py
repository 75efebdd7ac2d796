"""MediRecords (cloud PMS/EHR) through its FHIR R4 API (`{API_URL}/v1/{ResourceType}`,
AU Base profiles), as thin async calls on the injected httpx client.

- Patients: searched by our identifier (MediRecords answers an identifier search only with
  `family`, `birthdate` and `gender` as well, so only when we know them) and by name (plus
  birth date when known); created with a conditional create (`If-None-Exist:
  identifier=…`), so a create repeated after a crash makes no second patient.
- Appointments: a conditional update by our booking identifier (`PUT
  /Appointment?identifier=…`): the same visit pushed twice is one appointment. Cancelling
  reads it by that identifier and writes it back `cancelled`. MediRecords' appointment
  interface is not confirmed (reference/integrations.md §6): the sync pushes visits only
  with CLINICFLOW_MEDIRECORDS_PUSH_VISITS.

Each call goes through one circuit breaker and a short retry (adapters/_resilience.py);
past those, the error reaches the bus, which tries the event again with back-off.
docs/integrations.md says how a clinic connects it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from clinicflow.adapters._resilience import (
    BreakerState,
    CircuitBreaker,
    Outages,
    RetryPolicy,
    resilient,
)
from clinicflow.adapters.ehr._fhir_patient import (
    appointment_resource,
    patient_resource,
    remote_patient,
)
from clinicflow.adapters.ehr._medirecords_http import (
    MediRecordsClient,
    MediRecordsDown,
    MediRecordsRefused,
)
from clinicflow.integrations.domain.ehr import Demographics, RemotePatient
from clinicflow.integrations.ports import EhrCircuitOpen, EhrUnavailable, SyncedVisit

__all__ = ["MediRecordsClient", "MediRecordsDown", "MediRecordsEhr", "MediRecordsRefused"]

T = TypeVar("T")
Json = dict[str, Any]
OUTAGES = Outages(transient=EhrUnavailable, opened=EhrCircuitOpen)
SEARCH_COUNT = "20"


class MediRecordsEhr:
    name = "medirecords"

    def __init__(
        self,
        client: MediRecordsClient,
        *,
        patient_system: str,
        booking_system: str,
        threshold: int = 5,
        reset_after: float = 60.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self._patient_system = patient_system
        self._booking_system = booking_system
        self.breaker = CircuitBreaker(
            "ehr_medirecords", outages=OUTAGES, threshold=threshold, reset_after=reset_after
        )
        self._policy = policy or RetryPolicy(attempts=2)

    async def state(self) -> BreakerState:
        return await self.breaker.state()

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        return await resilient(call, self.breaker, self._policy)

    # -- patients ---------------------------------------------------------------------------

    async def search_patients(self, ours: Demographics, patient_id: str) -> list[RemotePatient]:
        queries: list[dict[str, str]] = []
        if ours.birth_date and ours.family and ours.gender:  # what MediRecords requires
            queries.append(
                {
                    "identifier": f"{self._patient_system}|{patient_id}",
                    "family": ours.family,
                    "birthdate": ours.birth_date.isoformat(),
                    "gender": ours.gender,
                }
            )
        if ours.family:
            by_name = {"family": ours.family}
            if ours.given:
                by_name["given"] = ours.given
            if ours.birth_date:
                by_name["birthdate"] = ours.birth_date.isoformat()
            queries.append(by_name)
        found: list[RemotePatient] = []
        for query in queries:
            found.extend(await self._guarded(partial(self._search, "Patient", query)))
        return found

    async def _search(self, resource: str, query: dict[str, str]) -> list[RemotePatient]:
        answer = await self.client.call(
            "GET", f"/{resource}", params={**query, "_count": SEARCH_COUNT}
        )
        return [remote_patient(r) for r in _entries(answer.json(), "Patient")]

    async def create_patient(self, ours: Demographics, patient_id: str) -> RemotePatient:
        body = patient_resource(ours, self._patient_system, patient_id)
        condition = f"identifier={self._patient_system}|{patient_id}"

        async def create() -> RemotePatient:
            answer = await self.client.call(
                "POST", "/Patient", json=body, headers={"If-None-Exist": condition}
            )
            if answer.content:
                return remote_patient(answer.json())
            made = await self.read_patient(_id_of_location(answer.headers.get("location", "")))
            if made is None:
                raise MediRecordsRefused(answer.status_code, "created_patient_not_found")
            return made

        return await self._guarded(create)

    async def read_patient(self, remote_id: str) -> RemotePatient | None:
        async def read() -> RemotePatient | None:
            path = f"/Patient/{quote(remote_id, safe='')}"
            answer = await self.client.call("GET", path, accept=frozenset({404, 410}))
            return None if answer.status_code in (404, 410) else remote_patient(answer.json())

        return await self._guarded(read)

    # -- appointments -----------------------------------------------------------------------

    async def upsert_appointment(self, visit: SyncedVisit, remote_patient_id: str) -> None:
        body = appointment_resource(visit, remote_patient_id, self._booking_system)
        params = {"identifier": f"{self._booking_system}|{visit.booking_id}"}

        async def put() -> None:
            await self.client.call("PUT", "/Appointment", params=params, json=body)

        await self._guarded(put)

    async def cancel_appointment(self, booking_id: str) -> None:
        params = {"identifier": f"{self._booking_system}|{booking_id}"}

        async def cancel() -> None:
            answer = await self.client.call("GET", "/Appointment", params=params)
            for found in _entries(answer.json(), "Appointment"):
                if found.get("status") == "cancelled":
                    continue
                path = f"/Appointment/{quote(str(found['id']), safe='')}"
                await self.client.call("PUT", path, json={**found, "status": "cancelled"})

        await self._guarded(cancel)


def _entries(bundle: Json, resource_type: str) -> list[Json]:
    return [
        e["resource"]
        for e in bundle.get("entry") or []
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == resource_type
    ]


def _id_of_location(location: str) -> str:
    """`[base]/Patient/{id}/_history/{vid}` → `{id}`."""
    parts = [p for p in location.split("/") if p]
    if "Patient" in parts:
        at = parts.index("Patient")
        if at + 1 < len(parts):
            return parts[at + 1]
    raise MediRecordsRefused(201, "created_without_location")
