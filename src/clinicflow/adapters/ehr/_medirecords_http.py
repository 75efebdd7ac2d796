"""MediRecords' FHIR API over the injected httpx client: its API token as a Bearer token,
`application/fhir+json` both ways, and `Retry-After` honoured on 429/503 up to a budget.

An outage (no answer, 5xx, 429 past the budget) raises `EhrUnavailable`, which the circuit
breaker counts and the bus retries later; any other refusal (`MediRecordsRefused`: 4xx with
an OperationOutcome) proves MediRecords is up and is not counted. Only the outcome's issue
codes are kept: its diagnostics may quote the patient.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from clinicflow.adapters._retry_after import RetryAfterBudget, Sleep
from clinicflow.integrations.ports import EhrUnavailable

FHIR_JSON = "application/fhir+json"
Json = dict[str, Any]
MAX_WAITS = 3  # Retry-After waits per call, however short each is


class MediRecordsDown(EhrUnavailable):
    def __init__(self, status: int | None, code: str) -> None:
        super().__init__(f"MediRecords {status or 'unreachable'}: {code}")
        self.status = status


class MediRecordsRefused(Exception):
    """MediRecords refused the request (4xx): retrying the same request will not help."""

    def __init__(self, status: int, codes: str) -> None:
        super().__init__(f"MediRecords refused ({status}): {codes}")
        self.status = status


class MediRecordsClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        max_retry_wait: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self.base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._max_retry_wait = max_retry_wait
        self._sleep = sleep

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"MediRecordsClient(base={self.base!r})"

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Json | None = None,
        headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """The 2xx answer, or one whose status is in `accept`."""
        budget = RetryAfterBudget(
            "medirecords", self._max_retry_wait, self._sleep, max_waits=MAX_WAITS
        )
        while True:
            answer = await self._send(method, path, params, json, headers)
            status = answer.status_code
            if status < 300 or status in accept:
                return answer
            if await budget.wait_out(answer):
                continue
            if budget.exhausted and budget.refused is not None:
                raise MediRecordsDown(status, "throttled")
            if status >= 500 or status in (401, 408, 429):
                # 401: a token revoked or not yet valid is MediRecords' side to put right.
                raise MediRecordsDown(status, _codes(answer))
            raise MediRecordsRefused(status, _codes(answer))

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json: Json | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        sent = {
            "Authorization": f"Bearer {self._token}",
            "Accept": FHIR_JSON,
            **({"Content-Type": FHIR_JSON} if json is not None else {}),
            **(headers or {}),
        }
        try:
            return await self._http.request(
                method,
                self.base + path,
                params=params,
                json=json,
                headers=sent,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise MediRecordsDown(None, "timeout") from exc
        except httpx.TransportError as exc:
            raise MediRecordsDown(None, type(exc).__name__) from exc


def _codes(answer: httpx.Response) -> str:
    """An OperationOutcome's issue codes (never its diagnostics), or the status."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        issues = body.get("issue") or []
        codes = [str(i.get("code")) for i in issues if isinstance(i, dict)]
        if codes:
            return ",".join(codes)
    return f"http_{answer.status_code}"
