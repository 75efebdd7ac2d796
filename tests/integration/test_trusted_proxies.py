"""X-Forwarded-For is believed only from the trusted proxies (CLINICFLOW_TRUSTED_PROXIES).

Anonymous callers' rate limits are kept per address: if any client could name its address
in a header, it would get a fresh budget with every request. Served by a real uvicorn with
the options `clinicflow serve` gives it; the test's connections come from 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import ip_network
from typing import Any

import httpx

from clinicflow.bootstrap import build
from clinicflow.gateway import serving
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import TIGHT
from support.loopback_tls import loopback_tls
from support.uvicorn_server import running

LIMIT = 3  # TIGHT: anonymous reads per minute


@asynccontextmanager
async def served(settings: Settings, clock: FixedClock, **over: Any) -> AsyncIterator[str]:
    container = build(settings.model_copy(update={"rate_limits": TIGHT, **over}), clock=clock)
    sock = serving.listen("127.0.0.1", 0)
    config = serving.uvicorn_config(
        container.settings, create_app(container=container), "127.0.0.1", 0
    )
    config.lifespan = "off"
    try:
        async with running(config, sock) as base:
            yield base
    finally:
        await container.aclose()


async def statuses(base: str, forwarded_for: list[str]) -> list[int]:
    async with httpx.AsyncClient(verify=loopback_tls(), base_url=base) as http:
        return [
            (await http.get("/v1/services", headers={"X-Forwarded-For": ip})).status_code
            for ip in forwarded_for
        ]


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_gets_no_fresh_budget(
    settings: Settings, clock: FixedClock
) -> None:
    spoofed = [f"198.51.100.{n}" for n in range(LIMIT + 2)]  # a new "address" every time
    async with served(settings, clock) as base:
        got = await statuses(base, spoofed)
    assert got == [200] * LIMIT + [429, 429]


async def test_a_forwarded_for_from_a_trusted_proxy_is_the_client_address(
    settings: Settings, clock: FixedClock
) -> None:
    proxy = {"trusted_proxies": [ip_network("127.0.0.0/8")]}  # the ingress, here on loopback
    many = [f"198.51.100.{n}" for n in range(LIMIT + 2)]
    async with served(settings, clock, **proxy) as base:
        each_its_own = await statuses(base, many)
        one_client = await statuses(base, ["203.0.113.7"] * (LIMIT + 1))
        # The proxy appends the peer it saw; what a client wrote before that is not believed.
        chained = await statuses(base, [f"10.9.9.{n}, 203.0.113.7" for n in range(2)])
    assert each_its_own == [200] * (LIMIT + 2)  # every client its own budget
    assert one_client == [200] * LIMIT + [429]
    assert chained == [429, 429]
