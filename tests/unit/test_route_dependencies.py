"""Routes reach their use cases through typed dependencies (`infra.web.provided`), never a
string-keyed look-up with a `cast`: a renamed part must fail in mypy or when the app is built,
not on a request."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from clinicflow.flags.api import router as flags_router
from clinicflow.gateway.app import ROUTERS
from clinicflow.infra.web import ClockDep, MissingPart, Provided, asked_by, provided
from clinicflow.shared.clock import Clock, SystemClock

SRC = Path(__file__).resolve().parents[2] / "src" / "clinicflow"
# The composition root and the edge may hold the container; nothing below them reads it.
MAY_HOLD_CONTAINER = ("bootstrap", "gateway")


def _mounted() -> set[str]:
    """The files of every router the gateway mounts."""
    routers = [flags_router, *(r for group in ROUTERS.values() for r in group)]
    modules = {
        route.endpoint.__module__
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    return {m.removeprefix("clinicflow.").replace(".", "/") + ".py" for m in modules}


def _modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(SRC)): ast.parse(path.read_text(encoding="utf-8"))
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
    }


def _calls(tree: ast.Module, name: str) -> list[int]:
    def called(func: ast.expr) -> str | None:
        if isinstance(func, ast.Name):
            return func.id
        return func.attr if isinstance(func, ast.Attribute) else None

    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and called(node.func) == name
    ]


def _reads_container(tree: ast.Module) -> list[int]:
    """`….state.container` and `getattr(….state, "container")`."""
    lines = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "container"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "state"
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = node.args
            if node.func.id == "getattr" and len(args) > 1 and isinstance(args[1], ast.Constant):
                lines += [node.lineno] if args[1].value == "container" else []
    return lines


def test_no_route_module_casts_or_looks_parts_up_by_name() -> None:
    modules = _modules()
    routes = {
        name: tree
        for name, tree in modules.items()
        if _calls(tree, "APIRouter") or _calls(tree, "page_router")  # web/pages.py's
    }
    assert set(routes) >= _mounted(), sorted(routes)  # the scan finds every mounted router
    found = [
        f"{name}:{line}: {what}"
        for name, tree in routes.items()
        for what in ("cast", "part")
        for line in _calls(tree, what)
    ]
    found += [
        f"{name}:{line}: reads the container"
        for name, tree in modules.items()
        if not name.startswith(MAY_HOLD_CONTAINER)
        for line in _reads_container(tree)
    ]
    assert found == [], "use a typed dependency (infra.web.provided) instead:\n" + "\n".join(found)


class Desk:
    def __init__(self, name: str) -> None:
        self.name = name


class Nobody:
    pass


DeskDep = Annotated[Desk, Depends(provided(Desk))]


def _app(parts: Provided) -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @router.get("/desk")
    async def desk(desk: DeskDep, clock: ClockDep) -> dict[str, str]:
        return {"desk": desk.name, "clock": type(clock).__name__}

    app.include_router(router)
    app.state.provided = parts
    return app


async def test_a_route_gets_the_part_its_container_holds_now() -> None:
    holder = {"desk": Desk("first")}
    clock: Clock = SystemClock()
    parts = Provided(clock=lambda: clock)
    parts.add(Desk)(lambda: holder["desk"])
    app = _app(parts)
    parts.check(app.routes)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/desk")).json() == {"desk": "first", "clock": "SystemClock"}
        holder["desk"] = Desk("second")  # replaced after the app was built
        assert (await client.get("/desk")).json()["desk"] == "second"


def test_the_mounted_routers_ask_for_their_use_cases_by_class() -> None:
    routers = [flags_router, *(r for group in ROUTERS.values() for r in group)]
    asked = asked_by(route for router in routers for route in router.routes)
    names = {cls.__name__ for cls in asked}
    assert {"BookingService", "PatientService", "Waitlist", "OrderService", "FlagService"} <= names
    assert len(asked) >= 15, names


def test_an_app_asking_for_a_part_nobody_provides_is_refused_when_built() -> None:
    router = APIRouter()

    @router.get("/nobody")
    async def nobody(part: Annotated[Nobody, Depends(provided(Nobody))]) -> None:
        pass

    parts = Provided(clock=SystemClock)
    parts.add(Desk)(lambda: Desk("d"))
    assert asked_by(router.routes) == {Nobody}
    with pytest.raises(MissingPart, match="Nobody"):
        parts.check(router.routes)


def test_a_class_is_provided_once() -> None:
    parts = Provided(clock=SystemClock)
    parts.add(Desk)(lambda: Desk("one"))
    with pytest.raises(ValueError, match="Desk is provided twice"):
        parts.add(Desk)(lambda: Desk("two"))
