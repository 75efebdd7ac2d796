"""/healthz, /readyz and Prometheus /metrics: what the platform's probes and scrapers read."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from clinicflow.bootstrap import build
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock

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
    scraped = await client.get("/metrics")
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
