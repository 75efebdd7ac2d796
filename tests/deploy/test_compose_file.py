"""deploy/compose.yaml: valid against the Compose specification (the schema ships inside
check-jsonschema, offline), and wired the way docs/deployment.md says."""

from __future__ import annotations

import subprocess
import sys
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest

from clinicflow.settings import Settings
from support.deploy import DEPLOY, ROOT, load_one

COMPOSE = DEPLOY / "compose.yaml"
SERVICES = {"postgres", "redis", "migrate", "api", "worker", "jaeger", "prometheus", "grafana"}
APP = ("migrate", "api", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = load_one(COMPOSE)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _depends(service: dict[str, Any]) -> dict[str, str]:
    found = service.get("depends_on", {})
    assert isinstance(found, dict), "long form depends_on, with a condition each"
    return {name: spec["condition"] for name, spec in found.items()}


def test_valid_against_the_compose_spec_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: {image} has no tag"
        assert not image.endswith(":latest"), f"{name}: {image}"


def test_app_services_share_one_image_built_from_the_dockerfile(
    services: dict[str, dict[str, Any]],
) -> None:
    images = {services[name]["image"] for name in APP}
    assert len(images) == 1, "one image, three roles"
    for name in APP:
        build = services[name]["build"]
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context == ROOT
        assert (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert services[name]["read_only"] is True
        assert "/tmp" in services[name]["tmpfs"]
        assert services[name]["cap_drop"] == ["ALL"]


def test_roles(services: dict[str, dict[str, Any]]) -> None:
    assert services["migrate"]["command"] == ["db", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["api"]["command"][:3] == ["serve", "--host", "0.0.0.0"]
    assert services["worker"]["command"] == ["worker"]


def test_migrations_run_before_api_and_worker(services: dict[str, dict[str, Any]]) -> None:
    for name in ("api", "worker"):
        depends = _depends(services[name])
        assert depends["migrate"] == "service_completed_successfully"
        assert depends["redis"] == "service_healthy"
    assert _depends(services["migrate"])["postgres"] == "service_healthy"
    assert _depends(services["api"])["postgres"] == "service_healthy"
    # The worker waits for the api, which creates the shared key ring on its first start.
    assert _depends(services["worker"])["api"] == "service_healthy"


def test_dependencies_form_no_cycle_and_health_conditions_have_checks(
    services: dict[str, dict[str, Any]],
) -> None:
    graph = {name: set(_depends(service)) for name, service in services.items()}
    order = list(TopologicalSorter(graph).static_order())
    assert order.index("migrate") < order.index("api") < order.index("worker")
    for name, service in services.items():
        for target, condition in _depends(service).items():
            assert target in services, f"{name} depends on unknown {target}"
            if condition == "service_healthy":
                check = services[target].get("healthcheck", {})
                problem = f"{name} waits for {target} to be healthy, which has no health check"
                assert check.get("test"), problem
                assert not check.get("disable"), problem


def test_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]["healthcheck"]["test"]
    assert api[0] == "CMD"
    assert "/healthz" in " ".join(api)
    assert "urllib" in " ".join(api)
    # The worker and the one-shot migration have no HTTP listener.
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert services["migrate"]["healthcheck"] == {"disable": True}
    for name in ("postgres", "redis", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"], name


def test_app_environment(services: dict[str, dict[str, Any]]) -> None:
    fields = {f"CLINICFLOW_{name.upper()}" for name in Settings.model_fields}
    for name in APP:
        env = services[name]["environment"]
        unknown = {k for k in env if k.startswith("CLINICFLOW_")} - fields
        assert not unknown, f"{name}: not settings: {sorted(unknown)}"
        assert "@postgres:5432/" in env["CLINICFLOW_DATABASE_URL"]
        assert env["CLINICFLOW_REDIS_URL"].startswith("redis://redis:6379")
        assert env["CLINICFLOW_EVENT_TRANSPORT"] == "redis", "workers share Redis Streams"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"
        # The api and the worker must read the same key ring.
        assert env["CLINICFLOW_KEYS_FILE"].startswith("/var/lib/clinicflow/")
        assert "clinicflow-data:/var/lib/clinicflow" in services[name]["volumes"]
    assert services["api"]["environment"]["OTEL_SERVICE_NAME"] == "clinicflow-api"
    assert services["worker"]["environment"]["OTEL_SERVICE_NAME"] == "clinicflow-worker"


def test_jaeger_accepts_otlp(services: dict[str, dict[str, Any]]) -> None:
    jaeger = services["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert "4317" in [str(port) for port in jaeger["expose"]]


def _bind_sources(service: dict[str, Any]) -> dict[str, str]:
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[target] = source
    return mounts


def test_prometheus_and_grafana_mount_files_of_this_repository(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("prometheus", "grafana"):
        mounts = _bind_sources(services[name])
        assert mounts, name
        for source in mounts.values():
            assert (COMPOSE.parent / source).exists(), f"{name}: {source} is missing"
    prometheus = _bind_sources(services["prometheus"])
    assert prometheus["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    assert prometheus["/etc/prometheus/alerts.yml"] == "./prometheus/alerts.yml"
    grafana = _bind_sources(services["grafana"])
    assert grafana["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provider = load_one(DEPLOY / "grafana/provisioning/dashboards/dashboards.yml")
    (dashboards,) = provider["providers"]
    assert Path(grafana[dashboards["options"]["path"]]) == Path("./grafana/dashboards")


def test_prometheus_scrapes_the_api(services: dict[str, dict[str, Any]]) -> None:
    config = load_one(DEPLOY / "prometheus/prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api = jobs["clinicflow-api"]
    assert api["metrics_path"] == "/metrics"
    targets = [t for group in api["static_configs"] for t in group["targets"]]
    assert targets == ["api:9464"]  # the metrics port: the API port does not answer /metrics
    command = services["api"]["command"]
    assert command[command.index("--metrics-port") + 1] == "9464"
    assert command[command.index("--port") + 1] == "8000"
    published = " ".join(str(p) for p in services["api"].get("ports", []))
    assert "9464" not in published
    assert config["rule_files"] == ["alerts.yml"]
