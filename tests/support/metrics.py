"""Prometheus's scrape of an app in process: /metrics answers only on the metrics port, so a
request must say it arrived there; and the availability cache's counts in what it scraped."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

# The port in-process requests say they arrived on (the ASGI scope's `server`) when they are
# scrapes; nothing listens on it. Tests that scrape set `metrics_port` to it.
METRICS_PORT = 9464


async def scrape(http: httpx.AsyncClient) -> httpx.Response:
    """Prometheus's scrape: /metrics on the metrics port."""
    return await http.get(f"http://clinic.test:{METRICS_PORT}/metrics")


def cache_counts(metrics_text: str) -> dict[str, float]:
    """clinicflow_cache_requests_total by result (hit, miss …)."""
    found = {}
    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name == "clinicflow_cache_requests_total":
                found[s.labels["result"]] = s.value
    return found
