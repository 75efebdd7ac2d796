"""Request hygiene at the edge: body size, content type, security headers, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from clinicflow.bootstrap import build
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock

AVAILABILITY = (
    "/v1/availability?service=alternative_medicine&visit_type=initial&duration=15"
    "&start=2026-11-25&end=2026-11-25"
)


@pytest.fixture
async def strict(settings: Settings, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    update = {"max_body_bytes": 2048, "cors_origins": ["https://book.clinic.example"]}
    container = build(settings.model_copy(update=update), clock=clock)
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="https://clinic.test") as http:
        yield http
    await container.aclose()


async def test_a_body_over_the_limit_is_refused_before_any_route_reads_it(
    strict: httpx.AsyncClient,
) -> None:
    big = {"note": "x" * 4096}
    resp = await strict.post("/v1/holds", json=big)
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"
    assert "2048 bytes" in resp.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(4):
            yield b'{"a": "' + b"x" * 1000 + b'"}'

    streamed = await strict.post(
        "/v1/holds", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_a_body_in_another_format_gets_415_naming_the_one_to_send(
    strict: httpx.AsyncClient,
) -> None:
    resp = await strict.post(
        "/v1/holds", content=b"service=x", headers={"Content-Type": "text/plain"}
    )
    assert resp.status_code == 415
    assert "application/json" in resp.json()["detail"]
    form = await strict.post("/v1/oauth/token", data={"grant_type": "client_credentials"})
    assert form.status_code != 415  # the token endpoint takes a form, as RFC 6749 says


async def test_every_answer_carries_security_headers_and_hsts_over_tls(
    strict: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    secure = await strict.get(AVAILABILITY)
    assert secure.headers["x-content-type-options"] == "nosniff"
    assert secure.headers["x-frame-options"] == "DENY"
    assert secure.headers["strict-transport-security"].startswith("max-age=")
    plain = await client.get("/v1/bookings/none")  # http, and an error answer
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in plain.headers
    assert plain.headers["x-request-id"]


async def test_cors_allows_only_the_configured_origins(strict: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await strict.options(
        "/v1/holds", headers={"Origin": "https://book.clinic.example", **preflight}
    )
    other = await strict.options(
        "/v1/holds", headers={"Origin": "https://evil.example", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://book.clinic.example"
    assert "access-control-allow-origin" not in other.headers


async def test_vendor_webhooks_have_their_own_body_limits_at_the_edge(
    client: httpx.AsyncClient,
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    twilio = await client.post(
        "/v1/webhooks/twilio/status", content=b"a=" + b"x" * (64 * 1024), headers=form
    )
    assert twilio.status_code == 413
    assert "65536 bytes" in twilio.json()["detail"]
    events = b"[" + b" " * (2 * 1024 * 1024) + b"]"  # over the default 1 MiB, under SendGrid's
    sendgrid = await client.post(
        "/v1/webhooks/sendgrid/events", content=events, headers={"Content-Type": "application/json"}
    )
    assert sendgrid.status_code == 403  # past the size check, refused by the signature check
