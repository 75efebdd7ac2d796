"""deploy/k8s: every document validates offline against the Kubernetes JSON schemas that ship
inside the kubernetes-validate package (strict: unknown fields are errors), and follows the
platform's rules: non-root, read-only root, probes, resources, secrets only by reference."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from clinicflow.settings import Settings
from support.deploy import K8S, k8s_documents, k8s_files, load_all, load_one, required_tool

# The oldest Kubernetes release these manifests promise to work on, and the newest schema
# the installed package knows (a removed API would fail there).
VERSIONS = ["1.29.0", latest_version()]
NAMESPACE = "clinicflow"
SECRET = "clinicflow-secrets"
IMAGE = re.compile(r"^[\w.\-/:]+/clinicflow:(?!latest$)[\w.\-]+$")
# Environment variables whose value is a credential (or a URL that carries one).
SECRET_NAME = re.compile(r"(PASSWORD|TOKEN|SECRET|API_KEY|PRIVATE_KEY|DATABASE_URL|REDIS_URL)$")
DOCS = list(k8s_documents())


def _id(item: tuple[Any, dict[str, Any]]) -> str:
    path, doc = item
    return f"{path.name}:{doc['kind']}/{doc['metadata']['name']}"


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in DOCS if doc["kind"] == kind}


def _workloads() -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every Deployment and Job."""
    for _, doc in DOCS:
        if doc["kind"] in {"Deployment", "Job"}:
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def _containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, pod in _workloads():
        for container in pod.get("initContainers", []) + pod["containers"]:
            yield f"{name}/{container['name']}", container


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("item", DOCS, ids=[_id(d) for d in DOCS])
def test_document_validates_against_the_kubernetes_schema(
    item: tuple[Any, dict[str, Any]], version: str
) -> None:
    _, doc = item
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{_id(item)} against {version}: {path}: {exc.message}")


def test_every_manifest_file_holds_documents() -> None:
    files = k8s_files()
    assert len(files) >= 8
    for path in files:
        assert load_all(path), f"{path.name} is empty"
    kinds = {doc["kind"] for _, doc in DOCS}
    assert {
        "Namespace",
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Job",
    } <= kinds


def test_kustomization_lists_the_long_running_resources() -> None:
    kustomization = load_one(K8S / "kustomization.yaml")
    assert kustomization["namespace"] == NAMESPACE
    listed = set(kustomization["resources"])
    for name in listed:
        assert (K8S / name).exists(), name
    # The Job runs first, on its own; the Secret comes from the secret store.
    assert listed == {p.name for p in k8s_files()} - {"migrate-job.yaml", "secret.example.yaml"}
    (image,) = kustomization["images"]
    assert all(c["image"].split(":")[0] == image["name"] for _, c in _containers())


def test_kustomize_renders_valid_documents() -> None:
    """`kubectl kustomize` (offline) renders what `kubectl apply -k deploy/k8s` would send."""
    kubectl = required_tool(
        "kubectl", "kubectl is not installed; kustomization.yaml was only checked structurally"
    )
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    listed = [
        doc for path, doc in DOCS if path.name in load_one(K8S / "kustomization.yaml")["resources"]
    ]
    assert len(rendered) == len(listed)
    for doc in rendered:
        kubernetes_validate.validate(doc, VERSIONS[0], strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE


def test_everything_is_in_the_namespace() -> None:
    for item in DOCS:
        _, doc = item
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == NAMESPACE
            continue
        assert doc["metadata"].get("namespace") == NAMESPACE, _id(item)


def test_no_secret_value_is_committed() -> None:
    secrets = [(path, doc) for path, doc in DOCS if doc["kind"] == "Secret"]
    assert [path.name for path, _ in secrets] == ["secret.example.yaml"]
    ((_, example),) = secrets
    assert example["metadata"]["name"] == SECRET
    assert "data" not in example
    for key, value in example["stringData"].items():
        assert "CHANGE-ME" in value, f"{key}: only placeholders in the example"


def test_pods_run_as_non_root_with_a_read_only_root() -> None:
    for name, pod in _workloads():
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert context["runAsUser"] == 10001, f"{name}: the image's user"
        assert context["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        tmp = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp, f"{name}: /tmp is an emptyDir"


def test_every_container_has_requests_and_limits_and_a_pinned_image() -> None:
    for name, container in _containers():
        resources = container["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[kind]), f"{name}: {kind}"
        assert IMAGE.match(container["image"]), f"{name}: {container['image']}"


def test_secrets_only_by_reference() -> None:
    fields = {f"CLINICFLOW_{name.upper()}" for name in Settings.model_fields}
    example = _by_kind("Secret")[SECRET]["stringData"]
    for name, container in _containers():
        for source in container.get("envFrom", []):
            assert set(source) <= {"configMapRef", "secretRef"}, name
        for var in container.get("env", []):
            if var["name"].startswith("CLINICFLOW_"):
                assert var["name"] in fields, f"{name}: {var['name']} is not a setting"
            if SECRET_NAME.search(var["name"]):
                assert "value" not in var, f"{name}: {var['name']} is written in the manifest"
                ref = var["valueFrom"]["secretKeyRef"]
                assert ref["name"] == SECRET, f"{name}: {var['name']}"
                assert ref["key"] in example, f"{ref['key']} is missing from the example"
    config = _by_kind("ConfigMap")["clinicflow-config"]["data"]
    for key in config:
        assert not SECRET_NAME.search(key), f"the ConfigMap holds a secret: {key}"
        if key.startswith("CLINICFLOW_"):
            assert key in fields, f"ConfigMap: {key} is not a setting"
    assert config["CLINICFLOW_EVENT_TRANSPORT"] == "redis"


def test_the_key_ring_comes_from_the_secret_as_a_read_only_file() -> None:
    keys_file = _by_kind("ConfigMap")["clinicflow-config"]["data"]["CLINICFLOW_KEYS_FILE"]
    for name in ("clinicflow-api", "clinicflow-worker"):
        pod = _by_kind("Deployment")[name]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        (container,) = pod["containers"]
        (mount,) = [m for m in container["volumeMounts"] if keys_file.startswith(m["mountPath"])]
        assert mount["readOnly"] is True
        secret = volumes[mount["name"]]["secret"]
        assert secret["secretName"] == SECRET
        assert [item["path"] for item in secret["items"]] == [keys_file.rsplit("/", 1)[-1]]
        assert secret["defaultMode"] & 0o022 == 0, "not writable by group or others"


def test_audit_checkpoints_outlive_pods_on_a_shared_volume() -> None:
    """Checkpoints in an emptyDir would vanish with the pod, and `audit verify` could no
    longer tell rows cut off the chain's end."""
    path = _by_kind("ConfigMap")["clinicflow-config"]["data"]["CLINICFLOW_AUDIT_CHECKPOINT_FILE"]
    claims = _by_kind("PersistentVolumeClaim")
    for name in ("clinicflow-api", "clinicflow-worker"):
        pod = _by_kind("Deployment")[name]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        (container,) = pod["containers"]
        (mount,) = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
        claim = volumes[mount["name"]]["persistentVolumeClaim"]["claimName"]
        assert claims[claim]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_api_deployment() -> None:
    api = _by_kind("Deployment")["clinicflow-api"]
    assert api["spec"]["replicas"] == 2
    pod = api["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][:3] == ["serve", "--host", "0.0.0.0"]
    assert container["ports"][0]["containerPort"] == 8000
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= keys
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_worker_deployment_listens_nowhere() -> None:
    worker = _by_kind("Deployment")["clinicflow-worker"]
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["worker"]
    assert "ports" not in container
    labels = worker["spec"]["template"]["metadata"]["labels"]
    for service in _by_kind("Service").values():
        assert not _selects(service["spec"]["selector"], labels), "no Service for the worker"


def test_api_service_reaches_the_api_pods() -> None:
    service = _by_kind("Service")["clinicflow-api"]
    api = _by_kind("Deployment")["clinicflow-api"]
    assert _selects(service["spec"]["selector"], api["spec"]["template"]["metadata"]["labels"])
    (container,) = api["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"] for p in container["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names


def test_migration_job() -> None:
    job = _by_kind("Job")["clinicflow-migrate"]
    spec = job["spec"]
    assert spec["backoffLimit"] >= 1
    assert spec["ttlSecondsAfterFinished"] > 0
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["args"] == ["db", "migrate"]


def test_autoscalers_and_disruption_budgets_fit_their_deployments() -> None:
    deployments = _by_kind("Deployment")
    hpas = _by_kind("HorizontalPodAutoscaler")
    pdbs = _by_kind("PodDisruptionBudget")
    assert set(hpas) == set(pdbs) == set(deployments)
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        (cpu,) = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
        assert cpu["resource"]["name"] == "cpu"
        assert cpu["resource"]["target"]["averageUtilization"] == 70
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        pdb = pdbs[name]["spec"]
        assert _selects(pdb["selector"]["matchLabels"], labels)
        # A drain can always evict one pod.
        assert pdb.get("minAvailable", 0) < hpa["spec"]["minReplicas"]


def _ports(rules: list[dict[str, Any]]) -> set[int]:
    return {p["port"] for rule in rules for p in rule.get("ports", [])}


def test_network_policies() -> None:
    policies = _by_kind("NetworkPolicy")
    deny = policies["default-deny-all"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny

    api = policies["clinicflow-api"]["spec"]
    sources = {}
    for rule in api["ingress"]:
        for peer in rule["from"]:
            name = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            sources[name] = _ports([rule])
    # Clients reach the API port through the ingress; only Prometheus the metrics port.
    assert sources == {"ingress-nginx": {8000}, "monitoring": {9464}}

    worker = policies["clinicflow-worker"]["spec"]
    assert worker["ingress"] == [], "the worker accepts no connections"
    for spec in (api, worker):
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
        assert {53, 5432, 6379, 443} <= _ports(spec["egress"])

    migrate = policies["clinicflow-migrate"]["spec"]
    assert _ports(migrate["egress"]) == {53, 5432}

    deployments = _by_kind("Deployment")
    for name in ("clinicflow-api", "clinicflow-worker"):
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert _selects(policies[name]["spec"]["podSelector"]["matchLabels"], labels)


def test_prometheus_finds_the_api_pods() -> None:
    api = _by_kind("Deployment")["clinicflow-api"]
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == "9464"
    (container,) = api["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--metrics-port") + 1] == "9464"
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["metrics"] == 9464


def test_the_ingress_never_routes_the_metrics_port() -> None:
    """/metrics is answered only on the pods' metrics port, which no Service exposes."""
    service = _by_kind("Service")["clinicflow-api"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    ingress = _by_kind("Ingress")["clinicflow-api"]
    backends = [
        path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends == [{"name": "clinicflow-api", "port": {"name": "http"}}]


def test_x_forwarded_for_is_believed_only_from_the_ingress_network() -> None:
    config = _by_kind("ConfigMap")["clinicflow-config"]["data"]
    given = {"trusted_proxies": config["CLINICFLOW_TRUSTED_PROXIES"]}
    trusted = Settings.model_validate(given).trusted_proxies
    assert trusted, "the ingress controller must be trusted, or every client shares its budget"
    assert all(not network.is_global for network in trusted)  # a cluster network, never public
