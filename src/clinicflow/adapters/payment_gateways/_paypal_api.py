"""PayPal REST over the injected httpx client: the OAuth2 client-credentials token (cached
until shortly before it expires, fetched again once if PayPal says it is no longer valid) and
replies read as port errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from clinicflow.adapters.payment_gateways._common import is_transient, retry_after
from clinicflow.payments.ports import (
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    PaymentDeclined,
)
from clinicflow.shared.clock import Clock

PROVIDER = "paypal"
# Refresh this long before PayPal's expiry, so a token never lapses between check and use.
_EARLY = timedelta(seconds=60)
# 422 issues that mean the buyer's funding was refused: ask for another method.
DECLINE_ISSUES = frozenset(
    {
        "INSTRUMENT_DECLINED",
        "CARD_EXPIRED",
        "PAYER_CANNOT_PAY",
        "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
        "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
        "TRANSACTION_REFUSED",
    }
)


class PayPalApi:
    def __init__(
        self,
        http: httpx.AsyncClient,
        client_id: str,
        client_secret: str,
        clock: Clock,
        base_url: str,
    ) -> None:
        self._http = http
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._clock = clock
        self.base_url = base_url.rstrip("/")
        self._token: str | None = None
        self._expires_at = datetime.min.replace(tzinfo=UTC)
        self._lock = asyncio.Lock()

    async def call(
        self, method: str, path: str, body: object = None, request_id: str | None = None
    ) -> Any:
        """The reply's JSON; `request_id` goes out as PayPal-Request-Id (idempotency)."""
        token = await self._valid_token()
        response = await self._send(method, path, token, body, request_id)
        if response.status_code == 401:
            # Revoked or expired early: one fresh token, one more try.
            self._forget(token)
            response = await self._send(method, path, await self._valid_token(), body, request_id)
        if response.is_success:
            return _json(response) or {}
        raise failure(response)

    async def _send(
        self, method: str, path: str, token: str, body: object, request_id: str | None
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Prefer": "return=representation",
        }
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        kwargs: dict[str, Any] = {"headers": headers}
        if method != "GET":
            kwargs["json"] = {} if body is None else body
        return await transport(self._http.request(method, self.base_url + path, **kwargs))

    async def _valid_token(self) -> str:
        async with self._lock:  # one fetch, however many calls wait for it
            if self._token is not None and self._clock.now() < self._expires_at:
                return self._token
            response = await transport(
                self._http.post(
                    f"{self.base_url}/v1/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Accept": "application/json"},
                    auth=self._auth,
                )
            )
            payload = _json(response)
            if not response.is_success or not isinstance(payload, dict):
                raise failure(response)
            self._token = str(payload["access_token"])
            lifetime = timedelta(seconds=int(payload.get("expires_in", 0)))
            self._expires_at = self._clock.now() + max(lifetime - _EARLY, timedelta(0))
            return self._token

    def _forget(self, token: str) -> None:
        if self._token == token:
            self._token = None


async def transport(request: Awaitable[httpx.Response]) -> httpx.Response:
    try:
        response = await request
    except httpx.TimeoutException as exc:
        raise GatewayUnavailable(PROVIDER, "timed out") from exc
    except httpx.TransportError as exc:
        raise GatewayUnavailable(PROVIDER, f"unreachable ({type(exc).__name__})") from exc
    return response


def failure(response: httpx.Response) -> GatewayError:
    status = response.status_code
    if is_transient(status):
        return GatewayUnavailable(PROVIDER, f"answered {status}", retry_after(response.headers))
    payload = _json(response)
    payload = payload if isinstance(payload, dict) else {}
    details = payload.get("details") or [{}]
    issue = details[0].get("issue") if isinstance(details[0], dict) else None
    message = payload.get("message") or payload.get("error_description") or f"answered {status}"
    if payload.get("debug_id"):
        message = f"{message} (debug_id {payload['debug_id']})"  # what PayPal support asks for
    code = issue or payload.get("name") or payload.get("error")
    if issue in DECLINE_ISSUES:
        return PaymentDeclined(PROVIDER, str(message), code=str(issue))
    return GatewayRejected(PROVIDER, str(message), code=str(code) if code else None)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
