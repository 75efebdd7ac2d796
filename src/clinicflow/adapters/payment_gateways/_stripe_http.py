"""Lets the Stripe SDK send its requests through the platform's injected httpx.AsyncClient.

stripe-python's own `HTTPXClient` builds a private `httpx.AsyncClient` in its constructor and
takes no client to use instead (checked in stripe 16.1, `_http_client.py`), so it would bypass
the app's connection pool, timeouts, proxy settings and test transport. The SDK does accept
any `HTTPClient` subclass (`StripeClient(http_client=…)`), so this one forwards to ours.
The SDK's own retries are switched off by the gateway (max_network_retries=0): retries and
the circuit breaker live in `ResilientGateway`, the same as for every other provider.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Mapping
from typing import Any

import httpx
from stripe import APIConnectionError, HTTPClient


class InjectedHttpxClient(HTTPClient):
    name = "httpx"

    def __init__(self, http: httpx.AsyncClient) -> None:
        super().__init__()
        self._http = http

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = await self._http.request(
                method.upper(), url, headers=dict(headers), content=post_data
            )
        except httpx.TimeoutException as exc:
            raise _connection_error("timed out") from exc
        except httpx.TransportError as exc:
            raise _connection_error(f"unreachable ({type(exc).__name__})") from exc
        return response.content, response.status_code, response.headers

    async def request_stream_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[AsyncIterable[bytes], int, Mapping[str, str]]:
        # Streaming is only for file downloads, which payments never makes.
        raise NotImplementedError("streamed Stripe requests are not used")

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return asyncio.sleep(secs)

    async def close_async(self) -> None:
        # The injected client belongs to whoever built it (bootstrap); it closes it.
        return None

    def close(self) -> None:
        return None


def _connection_error(message: str) -> APIConnectionError:
    # The SDK maps this to its own retry decision; the gateway turns it into GatewayUnavailable.
    return APIConnectionError(message, should_retry=True)  # type: ignore[no-untyped-call]
