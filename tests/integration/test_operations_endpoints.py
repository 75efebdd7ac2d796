"""/healthz, /readyz and Prometheus /metrics: what the platform's probes and scrapers read.
/metrics is answered on its own port only, never on the API's (which an ingress routes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from clinicflow.bootstrap import Container, build
from clinicflow.gateway import serving
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.loopback_tls import loopback_tls
from support.metrics import METRICS_PORT, scrape


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # In-process requests to METRICS_PORT are scrapes; the served tests below bind real ports.
    return settings.model_copy(update={"metrics_port": METRICS_PORT})


AVAILABILITY = (
    "/v1/availability?service=alternative_medicine&visit_type=initial&duration=15"
    "&start=2026-11-25&end=2026-11-25"
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


async def test_metrics_count_requests_by_route_template_and_show_outbox_lag(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get(AVAILABILITY)).status_code == 200
    assert (await client.get("/v1/bookings/no-such-id")).status_code == 401  # anonymous
    scraped = await scrape(client)
    assert scraped.status_code == 200
    found = samples(scraped.text)
    ok = (("method", "GET"), ("route", "/v1/availability"), ("status", "200"))
    assert found[("http_requests_total", ok)] == 1
    templates = {dict(labels).get("route") for (_, labels) in found}
    assert "/v1/bookings/{booking_id}" in templates
    assert not any(t and "no-such-id" in t for t in templates)  # never the raw path
    latency = (
        "http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/v1/availability")),
    )
    assert found[latency] == 1
    assert found[("clinicflow_outbox_unpublished", ())] == 0
    assert found[("clinicflow_dead_letters", ())] == 0


async def test_ready_when_the_database_answers_and_not_when_it_does_not(
    client: httpx.AsyncClient, settings: Settings, clock: FixedClock
) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == ["database"]
    broken = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/nothing"}
    )
    container = build(broken, clock=clock)
    try:
        transport = httpx.ASGITransport(app=create_app(container=container))
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            down = await http.get("/readyz")
            alive = await http.get("/healthz")
    finally:
        await container.aclose()
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["failed"] == ["database"]
    assert alive.status_code == 200  # alive, only not ready: no restart, no traffic


@asynccontextmanager
async def served(container: Container) -> AsyncIterator[tuple[str, str]]:
    """The app as `clinicflow serve --metrics-port` runs it: one uvicorn, two real ports
    (API, metrics); yields their base URLs."""
    api = serving.listen("127.0.0.1", 0)
    metrics = serving.listen("127.0.0.1", 0)
    metrics_port = metrics.getsockname()[1]
    settings = container.settings.model_copy(update={"metrics_port": metrics_port})
    container.settings = settings
    config = serving.uvicorn_config(settings, create_app(container=container), "127.0.0.1", 0)
    config.lifespan = "off"  # the fixture owns the container
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[api, metrics]))
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no start event)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{api.getsockname()[1]}", f"http://127.0.0.1:{metrics_port}"
    finally:
        server.should_exit = True
        await task


async def test_metrics_are_answered_on_the_metrics_port_only(container: Container) -> None:
    async with (
        served(container) as (api, metrics),
        httpx.AsyncClient(
            verify=loopback_tls(),
        ) as http,
    ):
        on_api = await http.get(f"{api}/metrics")
        scraped = await http.get(f"{metrics}/metrics")
        api_on_metrics_port = await http.get(f"{metrics}/v1/services")
        still_api = await http.get(f"{api}/v1/services")

    assert on_api.status_code == 404
    assert on_api.headers["content-type"] == "application/problem+json"
    assert scraped.status_code == 200
    assert "http_requests_total" in scraped.text
    assert api_on_metrics_port.status_code == 404  # the metrics port serves nothing else
    assert still_api.status_code == 200


async def test_without_a_metrics_port_metrics_are_answered_nowhere(
    settings: Settings, clock: FixedClock
) -> None:
    container = build(settings.model_copy(update={"metrics_port": None}), clock=clock)
    try:
        transport = httpx.ASGITransport(app=create_app(container=container))
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            on_api = await http.get("/metrics")
            elsewhere = await http.get(f"http://clinic.test:{METRICS_PORT}/metrics")
    finally:
        await container.aclose()
    assert (on_api.status_code, elsewhere.status_code) == (404, 404)
