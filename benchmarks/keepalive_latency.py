"""Small answers over one keep-alive connection, from a socket as `clinicflow serve` opens it
(serving.listen: its protocol named, IPPROTO_TCP) and from one that leaves the protocol 0.

asyncio turns Nagle's algorithm off (TCP_NODELAY) on accepted connections only when the
listening socket's `proto` says TCP. With it on, a response's body, written after its headers,
waits for the client's delayed ACK of the headers: 40 ms on Linux, in every small answer on a
kept-alive connection (what a browser uses). Serves the app with uvicorn on a fresh SQLite
file, twice, and prints each socket's median and 90th percentile per page. It never asserts;
tests/integration/test_serving_sockets.py checks the socket option itself.

    PYTHONPATH=src .venv/bin/python benchmarks/keepalive_latency.py --requests 100
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from collections.abc import Callable

import httpx
import uvicorn

from clinicflow.bootstrap import build
from clinicflow.gateway import serving
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from load_common import migrated_sqlite

PAGES = ("/v1/services", "/")


def protocol_unnamed(host: str, port: int) -> socket.socket:
    """The socket serving.listen made before it named its protocol."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def timings(settings: Settings, listen: Callable[[str, int], socket.socket], n: int) -> None:
    sock = listen("127.0.0.1", 0)
    config = uvicorn.Config(create_app(container=build(settings)), log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no start event)
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:  # one connection
            for page in PAGES:
                (await http.get(page)).raise_for_status()
                took = []
                for _ in range(n):
                    began = time.perf_counter()
                    (await http.get(page)).raise_for_status()
                    took.append((time.perf_counter() - began) * 1000)
                p90 = statistics.quantiles(took, n=10)[-1]
                print(
                    f"{listen.__name__:18} GET {page:13} p50 {statistics.median(took):6.2f} ms"
                    f"  p90 {p90:6.2f} ms  (n={n})"
                )
    finally:
        server.should_exit = True
        await task


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = await migrated_sqlite(tmp)
        for listen in (protocol_unnamed, serving.listen):
            await timings(settings, listen, n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="per page and socket")
    asyncio.run(main(parser.parse_args().requests))
