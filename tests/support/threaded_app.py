"""The app served by a real uvicorn in a thread of its own, with its own event loop: for
tests that call it synchronously over HTTP (the fuzzers: schemathesis, hypothesis)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import uvicorn

from clinicflow.bootstrap import Container, build
from clinicflow.gateway import serving
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings

Prepare = Callable[[Container], Awaitable[None]]


@contextmanager
def served_in_thread(config: Settings, prepare: Prepare | None = None) -> Iterator[str]:
    """The base URL of the app over `config`; `prepare` runs on its container first (in the
    server's loop: sign-ins, registered clients)."""
    sock = serving.listen("127.0.0.1", 0)
    started, box = threading.Event(), []

    async def main() -> None:
        container = build(config)
        if prepare is not None:
            await prepare(container)
        server = uvicorn.Server(
            serving.uvicorn_config(config, create_app(container=container), "127.0.0.1", 0)
        )
        box.append(server)
        started.set()
        await server.serve(sockets=[sock])

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert started.wait(30)
    server = box[0]
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
