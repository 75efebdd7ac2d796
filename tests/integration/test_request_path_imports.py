"""No import is tried on a request's path once the first request warmed it up.

A module that is not installed costs each `import` of it a look in every sys.path entry before
the ImportError: httpcore asks sniffio which event loop runs on every pooled request, and
httpx's ASGI transport on every call, from inside the call. Without sniffio installed (anyio
4.12 stopped bringing it) each provider call and each in-process request paid those looks
(a tenth of the suite's HTTP tests' CPU with its long sys.path). A finder placed last on
sys.meta_path hears only the names every other finder missed: the failed imports.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator, Sequence

import httpx
import pytest
import uvicorn
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from support.loopback_tls import loopback_tls
from support.uvicorn_server import loopback_socket, running


class FailedImports(importlib.abc.MetaPathFinder):
    """Placed after every real finder: asked only about names none of them found."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        self.names.append(fullname)
        return None


@pytest.fixture
def failed_imports() -> Iterator[FailedImports]:
    finder = FailedImports()
    sys.meta_path.append(finder)
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("hello")(scope, receive, send)


def test_the_finder_hears_a_missing_module(failed_imports: FailedImports) -> None:
    with pytest.raises(ImportError):
        __import__("clinicflow_no_such_module")
    assert failed_imports.names == ["clinicflow_no_such_module"]


async def test_pooled_requests_over_a_socket_try_no_import(
    failed_imports: FailedImports,
) -> None:
    config = uvicorn.Config(_hello, log_level="warning", lifespan="off")
    async with (
        running(config, loopback_socket()) as base,
        httpx.AsyncClient(verify=loopback_tls()) as client,
    ):
        assert (await client.get(f"{base}/")).text == "hello"  # warms the path up
        failed_imports.names.clear()
        for _ in range(5):
            assert (await client.get(f"{base}/")).text == "hello"
    assert failed_imports.names == []


async def test_in_process_requests_try_no_import(failed_imports: FailedImports) -> None:
    transport = httpx.ASGITransport(app=_hello)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic") as client:
        assert (await client.get("/")).text == "hello"
        failed_imports.names.clear()
        for _ in range(5):
            assert (await client.get("/")).text == "hello"
    assert failed_imports.names == []
