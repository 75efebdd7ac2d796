"""Every context has the one shape docs/architecture.md writes down ("The shape of a
context"): its modules are named for the roles in that table, and nothing else; a context
that has grown is split into sub-packages with the same shape."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "clinicflow"
DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
CONTEXTS = (
    "analytics",
    "booking",
    "calendars",
    "catalog",
    "flags",
    "forecasting",
    "identity",
    "integrations",
    "notifications",
    "patients",
    "payments",
    "waitlist",
    "webhooks",
)
# An edge's own aggregate with state keeps the shape too: the FHIR API's SMART clients.
EDGE_AGGREGATES = ("fhir/smart",)
MAX_MODULES = 15  # past this a context (or sub-package) splits into aggregates


def _roles() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- context-shape", 1)[1].split("\n\n", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", table, re.MULTILINE)}


def _violations(package: Path, roles: set[str], where: str) -> list[str]:
    found: list[str] = []
    modules = 0
    for entry in sorted(package.iterdir()):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            if f"{entry.name}/" in roles:
                continue  # domain/ (pure: import-linter checks it), templates/
            if not (entry / "__init__.py").exists():
                found.append(
                    f"{where}/{entry.name}/: a folder that is neither a role nor a package"
                )
                continue
            if entry.name.startswith("_"):
                found.append(f"{where}/{entry.name}/: a sub-package is named for a thing")
            found += _violations(entry, roles, f"{where}/{entry.name}")
        elif entry.suffix == ".py":
            modules += 1
            if entry.name not in roles:
                found.append(f"{where}/{entry.name}: not a role of docs/architecture.md's table")
    if modules > MAX_MODULES:
        found.append(f"{where}: {modules} modules; split it into aggregate sub-packages")
    return found


def test_the_table_names_the_roles() -> None:
    roles = _roles()
    assert {"service.py", "repository.py", "api.py", "domain/", "__init__.py"} <= roles


def test_every_context_has_the_documented_shape() -> None:
    roles = _roles()
    found = [v for c in (*CONTEXTS, *EDGE_AGGREGATES) for v in _violations(SRC / c, roles, c)]
    assert not found, "modules outside the shape:\n" + "\n".join(found)


def test_the_checker_sees_a_module_outside_the_shape(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "service.py").write_text("")
    (tmp_path / "offer_parts.py").write_text("")
    (tmp_path / "entries").mkdir()
    (tmp_path / "entries" / "__init__.py").write_text("")
    (tmp_path / "entries" / "placing.py").write_text("")
    assert _violations(tmp_path, _roles(), "x") == [
        "x/entries/placing.py: not a role of docs/architecture.md's table",
        "x/offer_parts.py: not a role of docs/architecture.md's table",
    ]


def test_every_package_is_a_listed_context_or_outside_the_rule() -> None:
    """A new context must join CONTEXTS (and so the shape); the rest are the platform."""
    # web: the pages, an edge over the contexts like the gateway ("The web pages" in the doc);
    # fhir: the FHIR API, another such edge ("The FHIR API"); simulation: `clinicflow
    # simulate`, an edge like demo.py (docs/simulation.md); settings: the one `Settings`, its
    # fields declared per context (a module each, named for the context).
    platform = {
        "adapters", "bootstrap", "gateway", "infra", "migrations", "shared", "simulation", "web",
        "fhir", "settings",
    }  # fmt: skip
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages - platform == set(CONTEXTS)
