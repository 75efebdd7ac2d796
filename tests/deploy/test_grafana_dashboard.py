"""deploy/grafana: the dashboard covers what operators watch, its queries parse, and every
metric it (or an alert) uses is in the metrics contract documented in docs/deployment.md."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.deploy import (
    DOCS,
    GRAFANA,
    LABEL_VALUES,
    METRICS,
    grafana_to_promql,
    load_one,
    metrics_in,
    promql_problems,
)

DASHBOARD = GRAFANA / "dashboards" / "clinicflow.json"


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return [p for p in found if p["type"] != "row"]


def _queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _panels(dashboard)
        for target in panel["targets"]
    ]


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "clinicflow-overview"
    assert dashboard["title"] == "clinicflow"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel in _panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        assert panel.get("description"), panel["title"]


def test_every_query_parses_and_uses_only_contract_metrics(dashboard: dict[str, Any]) -> None:
    for title, expr in _queries(dashboard):
        assert promql_problems(grafana_to_promql(expr)) == [], f"{title}: {expr}"
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = LABEL_VALUES.fullmatch(variable["query"]["query"])
        assert match, variable["name"]
        metric, label = match.groups()
        assert label in METRICS[metric], variable["name"]


def test_dashboard_shows_what_operators_watch(dashboard: dict[str, Any]) -> None:
    queries = [grafana_to_promql(expr) for _, expr in _queries(dashboard)]
    used = set().union(*(metrics_in(q) for q in queries))
    assert used == set(METRICS), f"not on the dashboard: {sorted(set(METRICS) - used)}"
    flat = [" ".join(q.split()) for q in queries]
    assert any(q.startswith("histogram_quantile(0.5,") and "by (route, le)" in q for q in flat)
    assert any(q.startswith("histogram_quantile(0.99,") and "by (route, le)" in q for q in flat)
    assert any('status=~"5.."' in q and " / " in q for q in flat), "5xx ratio"
    assert any('result="hit"' in q and " / " in q for q in flat), "cache hit ratio"


def test_provisioning() -> None:
    sources = load_one(GRAFANA / "provisioning/datasources/datasources.yml")["datasources"]
    by_type = {s["type"]: s for s in sources}
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    assert by_type["prometheus"]["isDefault"] is True
    assert by_type["jaeger"]["url"] == "http://jaeger:16686"
    (provider,) = load_one(GRAFANA / "provisioning/dashboards/dashboards.yml")["providers"]
    assert provider["type"] == "file"


def test_docs_list_the_metrics_contract() -> None:
    text = DOCS.read_text()
    for metric, labels in METRICS.items():
        assert f"`{metric.removesuffix('_bucket')}" in text, f"docs miss {metric}"
        for label in labels - {"le"}:
            assert label in text
