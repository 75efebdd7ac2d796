"""What the deployment tests share: paths, YAML loading, the metrics contract, PromQL checks."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
DOCS = ROOT / "docs" / "deployment.md"

# The metrics the app must expose (docs/deployment.md, "Metrics contract"): name -> labels.
# The dashboard and the alert rules may use these and nothing else.
METRICS: dict[str, frozenset[str]] = {
    "http_requests_total": frozenset({"route", "method", "status"}),
    "http_request_duration_seconds_bucket": frozenset({"route", "method", "le"}),
    "clinicflow_outbox_unpublished": frozenset(),
    "clinicflow_outbox_oldest_age_seconds": frozenset(),
    "clinicflow_dead_letters": frozenset(),
    "clinicflow_circuit_open": frozenset({"provider"}),
    "clinicflow_bookings_total": frozenset({"service"}),
    "clinicflow_payments_total": frozenset({"provider", "status"}),
    "clinicflow_cache_requests_total": frozenset({"cache", "result"}),
    "clinicflow_calendar_age_seconds": frozenset({"source"}),
    "clinicflow_calendar_consecutive_errors": frozenset({"source"}),
    "clinicflow_calendar_stale": frozenset({"source"}),
    "clinicflow_calendar_unconfirmed_practitioners": frozenset(),
}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = frozenset({"instance", "job"})
ALL_LABELS = frozenset().union(*METRICS.values()) | TARGET_LABELS

# Grafana's variables, replaced by something PromQL parses.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$route": ".*",
}


def load_all(path: Path) -> list[Any]:
    """Every non-empty YAML document in a file."""
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def load_one(path: Path) -> Any:
    (doc,) = load_all(path)
    return doc


def k8s_files() -> list[Path]:
    """The manifests: every YAML under deploy/k8s but kustomize's own file."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def k8s_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in k8s_files():
        for doc in load_all(path):
            yield path, doc


def tool(name: str) -> str | None:
    """A command from this virtualenv (dev dependencies) or from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def required_tool(name: str, missing: str) -> str:
    """`tool(name)`; without it the test is skipped, saying `missing` (how to install it,
    and what was checked without it)."""
    found = tool(name)
    if found is None:
        pytest.skip(missing)
    return found


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"an unknown Grafana variable in {expr!r}"
    return expr


def promql_problems(expr: str) -> list[str]:
    """Parse a PromQL expression; name every metric or label outside the contract."""
    try:
        tree = promql_parser.parse(expr)
    except Exception as exc:  # the parser's own error type is not exported
        return [f"does not parse: {exc}"]
    problems: list[str] = []
    seen: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name
            matchers = list(node.matchers.matchers)
            for matcher in matchers:
                if matcher.name == "__name__":
                    name = matcher.value
            if name not in METRICS:
                problems.append(f"metric {name!r} is not in the contract")
                return
            seen.append(name)
            allowed = METRICS[name] | TARGET_LABELS
            for matcher in matchers:
                if matcher.name not in allowed | {"__name__"}:
                    problems.append(f"{name} has no label {matcher.name!r}")
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            for label in node.modifier.labels:
                if label not in ALL_LABELS:
                    problems.append(f"aggregation over unknown label {label!r}")
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            matching = node.modifier.matching
            labels = list(matching.labels) if matching is not None else []
            for label in labels + list(node.modifier.group_labels or []):
                if label not in ALL_LABELS:
                    problems.append(f"vector matching on unknown label {label!r}")

    promql_parser.walk(tree, visit)
    if not seen and not problems:
        problems.append("uses no metric")
    return problems


def metrics_in(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*(\w+)\s*\)")
