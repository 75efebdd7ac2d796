"""Reads get the request deadline as a timer on their own task: past it, 503
`deadline_exceeded` with Retry-After; a handler's own TimeoutError is not mistaken for it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from clinicflow.gateway.deadline import DeadlineMiddleware


async def slow_read(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(30)


async def own_timeout(scope: Scope, receive: Receive, send: Send) -> None:
    raise TimeoutError("an upstream call of the handler's own")


async def quick(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def client(app: DeadlineMiddleware) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_read_past_its_deadline_gets_503_with_retry_after() -> None:
    async with client(DeadlineMiddleware(slow_read, seconds=0.05)) as http:
        answer = await http.get("/v1/availability")
    assert answer.status_code == 503
    assert answer.json()["code"] == "deadline_exceeded"
    assert answer.headers["retry-after"] == "1"


async def test_a_read_within_its_deadline_is_answered_as_the_app_answers() -> None:
    async with client(DeadlineMiddleware(quick, seconds=5)) as http:
        answer = await http.get("/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")


async def test_a_handlers_own_timeout_is_not_reported_as_the_deadline() -> None:
    async with client(DeadlineMiddleware(own_timeout, seconds=5)) as http:
        with pytest.raises(TimeoutError, match="upstream"):
            await http.get("/v1/services")
