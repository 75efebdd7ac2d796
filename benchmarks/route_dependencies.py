"""What a typed route dependency (`infra.web.provided`) costs per request in FastAPI: one
route with its two parts looked up inline (the old `part(request, name)` way), with one of
them as a dependency, and with both. In process, over ASGI, no network or database; prints
the best and the median of 15 batches of 2,000 requests each."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from clinicflow.infra.web import Provided, provided
from clinicflow.shared.clock import SystemClock


class Desk:
    n = 1


class Book:
    n = 2


class Holder:
    desk = Desk()
    book = Book()


HOLDER = Holder()
DeskDep = Annotated[Desk, Depends(provided(Desk))]
BookDep = Annotated[Book, Depends(provided(Book))]


def _app() -> FastAPI:
    parts = Provided(clock=SystemClock)
    parts.add(Desk)(lambda: HOLDER.desk)
    parts.add(Book)(lambda: HOLDER.book)
    app = FastAPI()
    app.state.provided = parts
    app.state.holder = HOLDER

    def book(request: Request) -> Book:
        held: Holder = request.app.state.holder
        return held.book

    @app.get("/inline")
    async def inline(request: Request, x: int = 0) -> dict[str, int]:
        held: Holder = request.app.state.holder
        return {"v": held.desk.n + book(request).n}

    @app.get("/one")
    async def one(desk: DeskDep, request: Request, x: int = 0) -> dict[str, int]:
        return {"v": desk.n + book(request).n}

    @app.get("/two")
    async def two(desk: DeskDep, booked: BookDep, x: int = 0) -> dict[str, int]:
        return {"v": desk.n + booked.n}

    return app


async def _call(app: FastAPI, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"x=1",
        "root_path": "",
        "headers": [],
        "server": ("bench", 80),
        "client": ("127.0.0.1", 1),
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        pass

    await app(scope, receive, send)


async def main(batches: int = 15, size: int = 2000) -> None:
    app = _app()
    times: dict[str, list[float]] = {"/inline": [], "/one": [], "/two": []}
    for _ in range(batches):
        for path, seen in times.items():
            start = time.perf_counter()
            for _ in range(size):
                await _call(app, path)
            seen.append((time.perf_counter() - start) / size * 1e6)
    for path, seen in times.items():
        seen.sort()
        print(f"{path:8s} best {seen[0]:6.1f} µs  median {seen[len(seen) // 2]:6.1f} µs")


if __name__ == "__main__":
    asyncio.run(main())
