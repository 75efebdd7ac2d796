"""Every series the dashboard draws and the alert rules watch (deploy/) is one the app
exports, with the labels they use, once a booking and a payment have happened."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from clinicflow.bootstrap import Container
from clinicflow.catalog import Catalog
from clinicflow.gateway.app import create_app
from clinicflow.gateway.observability import Metrics
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.app import build_for_test
from support.calendar_feeds import BoardFeed
from support.payments import Clinic

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*(\w+)\s*\)")
# Labels Prometheus adds to every scraped series; the app never exports them.
TARGET_LABELS = {"instance", "job"}


def _dashboard_queries() -> Iterator[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query", "definition") and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for path in sorted((DEPLOY / "grafana").rglob("*.json")):
        yield from walk(json.loads(path.read_text()))


def _rule_queries() -> Iterator[str]:
    for path in sorted((DEPLOY / "prometheus").glob("*.y*ml")):
        document = yaml.safe_load(path.read_text()) or {}
        for group in document.get("groups", []):  # rule files; unit tests have none
            for rule in group.get("rules", []):
                yield rule["expr"]


def _grafana_to_promql(expr: str) -> str:
    expr = re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
    return re.sub(r"\$\w+", ".*", expr)


def used_in_deploy() -> dict[str, set[str]]:
    """Metric name -> the labels the queries select, group or match on."""
    used: dict[str, set[str]] = {}
    for query in [*_dashboard_queries(), *_rule_queries()]:
        for name, label in LABEL_VALUES.findall(query):
            used.setdefault(name, set()).add(label)
        if LABEL_VALUES.search(query) or query == "prometheus":
            continue
        try:
            tree = promql_parser.parse(_grafana_to_promql(query))
        except Exception:  # a plain string in a "query" field (a datasource name, a title)
            continue
        _selectors(tree, used)
    return used


def _selectors(tree: Any, used: dict[str, set[str]]) -> None:
    grouped: set[str] = set()
    names: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = [m for m in node.matchers.matchers if m.name != "__name__"]
            names.append(node.name)
            used.setdefault(node.name, set()).update(m.name for m in matchers)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            grouped.update(node.modifier.labels)

    promql_parser.walk(tree, visit)
    for name in names:  # `sum by (service)` over one metric needs that metric's label
        used[name].update(grouped)


def exported(text: str) -> dict[str, set[str]]:
    """Sample name (`…_total`, `…_bucket`) -> the labels its samples carry."""
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


@pytest.fixture
async def container(
    settings: Settings, clock: FixedClock, clinic_catalog: Catalog, key_ring_file: Path
) -> AsyncIterator[Container]:
    """With one external calendar source (the calendar series are labelled by source)."""
    feed = BoardFeed("microsoft", ("doctor1",))
    built = build_for_test(
        settings, clock=clock, catalog=clinic_catalog, key_ring=key_ring_file, feeds=[feed]
    )
    await built.calendars.service.sync_all()
    yield built
    await built.aclose()


@asynccontextmanager
async def clinic_api(
    container: Container,
) -> AsyncIterator[tuple[httpx.AsyncClient, Clinic, Metrics]]:
    """The app over ASGI, a Clinic on it, and the app's metrics (to scrape once done)."""
    app = create_app(container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as api:
        yield api, Clinic(api, container), app.state.metrics


async def test_every_metric_deploy_uses_is_exported_after_a_booking_and_a_payment(
    container: Container, front_desk: dict[str, str]
) -> None:
    async with clinic_api(container) as (api, clinic, metrics):
        booking = await clinic.booking(1)
        body = {"booking_ids": [booking["id"]], "method": "in_clinic", "tender": "cash"}
        paid = await api.post("/v1/payments", json=body, headers=front_desk)
        assert paid.status_code == 201, paid.text
        await api.get("/v1/availability", params={"service": "alternative_medicine"})

    found = exported((await metrics.scrape(container)).decode())

    used = used_in_deploy()
    assert {"clinicflow_bookings_total", "clinicflow_payments_total"} <= set(used)
    missing = sorted(set(used) - set(found))
    assert missing == [], f"deploy/ uses metrics the app never exports: {missing}"
    for name, labels in used.items():
        absent = labels - TARGET_LABELS - found[name]
        assert not absent, f"{name} is exported without the labels {sorted(absent)}"


async def test_bookings_and_payments_are_counted_by_service_provider_and_outcome(
    container: Container, front_desk: dict[str, str]
) -> None:
    async with clinic_api(container) as (api, clinic, metrics):
        first, second = await clinic.booking(1), await clinic.booking(2)
        body = {"booking_ids": [first["id"]], "method": "in_clinic", "tender": "cash"}
        assert (await api.post("/v1/payments", json=body, headers=front_desk)).status_code == 201

    text = (await metrics.scrape(container)).decode()

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert second["service"] == "alternative_medicine"
    assert samples[("clinicflow_bookings_total", (("service", "alternative_medicine"),))] == 2
    paid = (("provider", "in_clinic"), ("status", "succeeded"))
    assert samples[("clinicflow_payments_total", paid)] == 1
