"""Staff sign-in answer times for an existing and a missing account (wrong password).

Serves the app with uvicorn on a fresh SQLite file, then sends wrong-password sign-ins in
alternation for an existing account and a name no account has, each on a new connection
from its own loopback address (so the per-address back-off never starts). Prints the
median and 90th percentile of each; the two should be alike (a missing name is checked
against a dummy hash and runs the same failure update). It prints; it never asserts.

    PYTHONPATH=src .venv/bin/python benchmarks/signin_timing.py --rounds 40
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

import httpx
import uvicorn

from clinicflow.bootstrap import build
from clinicflow.gateway import serving
from clinicflow.gateway.app import create_app
from load_common import migrated_sqlite


async def timed(base: str, address: str, username: str) -> float:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(transport=transport, base_url=base, timeout=30) as http:
        began = time.perf_counter()
        resp = await http.post(
            "/v1/auth/login", json={"username": username, "password": "wrong password here"}
        )
        took = time.perf_counter() - began
    assert resp.status_code == 401, resp.text
    return took


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = await migrated_sqlite(tmp)
        container = build(settings)
        await container.identity.users.create("desk", "front_desk", "correct horse battery staple")
        sock = serving.listen("127.0.0.1", 0)  # as serve's: answers without Nagle's delay
        config = uvicorn.Config(create_app(container=container), log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110  (uvicorn offers no start event)
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        times: dict[str, list[float]] = {"existing": [], "missing": []}
        try:
            for n in range(rounds):
                address = f"127.0.{n // 250 + 10}.{n % 250 + 1}"
                times["existing"].append(await timed(base, address, "desk"))
                times["missing"].append(await timed(base, address, "nobody"))
        finally:
            server.should_exit = True
            await task
            await container.aclose()
    for kind, found in times.items():
        p90 = statistics.quantiles(found, n=10)[-1]
        print(
            f"{kind:8} account, wrong password: median {statistics.median(found) * 1000:.1f} ms,"
            f" p90 {p90 * 1000:.1f} ms over {len(found)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    asyncio.run(main(parser.parse_args().rounds))
