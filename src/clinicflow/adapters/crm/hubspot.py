"""HubSpot contacts through the CRM v3 objects API, with a private app's token:
`POST /crm/v3/objects/contacts/batch/upsert` with `idProperty: "email"` creates the contact
or updates the one with that email, so sending the same contact twice is harmless.

Only `email`, `firstname` and `lastname` are sent (integrations/domain/crm.py says why, and
the sync sends nothing for a patient without marketing consent). Deals are not made: a deal
per visit would tell the CRM what each person is treated for.

An outage (no answer, 5xx, 429) raises `CrmUnavailable`, counted by the circuit breaker and
retried later by the bus; a 4xx refusal raises `HubSpotRefused`, not counted.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from clinicflow.adapters._resilience import (
    BreakerState,
    CircuitBreaker,
    Outages,
    RetryPolicy,
    resilient,
)
from clinicflow.integrations.domain.crm import CrmContact
from clinicflow.integrations.ports import CrmCircuitOpen, CrmUnavailable

UPSERT = "/crm/v3/objects/contacts/batch/upsert"
OUTAGES = Outages(transient=CrmUnavailable, opened=CrmCircuitOpen)


class HubSpotDown(CrmUnavailable):
    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(f"HubSpot {status or 'unreachable'}: {detail}")
        self.status = status


class HubSpotRefused(Exception):
    def __init__(self, status: int, category: str) -> None:
        super().__init__(f"HubSpot refused ({status}): {category}")
        self.status = status


class HubSpotContacts:
    name = "hubspot"

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        *,
        base_url: str = "https://api.hubapi.com",
        threshold: int = 5,
        reset_after: float = 60.0,
        policy: RetryPolicy | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = http
        self._token = token
        self._url = base_url.rstrip("/") + UPSERT
        self._timeout = timeout
        self.breaker = CircuitBreaker(
            "crm_hubspot", outages=OUTAGES, threshold=threshold, reset_after=reset_after
        )
        self._policy = policy or RetryPolicy(attempts=2)

    def __repr__(self) -> str:
        return "HubSpotContacts()"

    async def state(self) -> BreakerState:
        return await self.breaker.state()

    async def upsert_contact(self, contact: CrmContact) -> None:
        properties = {"email": contact.email}
        if contact.first_name:
            properties["firstname"] = contact.first_name
        if contact.last_name:
            properties["lastname"] = contact.last_name
        body = {"inputs": [{"id": contact.email, "idProperty": "email", "properties": properties}]}
        await resilient(lambda: self._post(body), self.breaker, self._policy)

    async def _post(self, body: Mapping[str, object]) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            answer = await self._http.post(
                self._url, json=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise HubSpotDown(None, "timeout") from exc
        except httpx.TransportError as exc:
            raise HubSpotDown(None, type(exc).__name__) from exc
        status = answer.status_code
        if status < 300:
            return
        category = _category(answer)
        if status >= 500 or status in (401, 429):
            raise HubSpotDown(status, category)
        raise HubSpotRefused(status, category)


def _category(answer: httpx.Response) -> str:
    """HubSpot's error `category` (its `message` may quote the contact's email)."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    category = body.get("category") if isinstance(body, dict) else None
    return str(category) if category else f"http_{answer.status_code}"
