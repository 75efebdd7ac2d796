"""The contested-slot scenario: many clients, each on its own new connection, race for one
slot, round after round (for http_load.py). wrk keeps its connections open and sends one
request at a time per connection, so this scenario has its own client: httpx, no keep-alive.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime

from load_slots import Offer


@dataclass
class Contest:
    rounds: int
    clients: int
    statuses: dict[str, int]  # "201", "409", "503", … and "timeout"
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code.startswith("5"))

    @property
    def timeouts(self) -> int:
        return self.statuses.get("timeout", 0)

    @property
    def requests(self) -> int:
        return self.rounds * self.clients


def take_contested(
    plan: MutableMapping[Offer, list[datetime]], rounds: int
) -> list[tuple[Offer, datetime]]:
    """`rounds` slots taken out of the plan (the distinct-booking run leaves them free): the
    latest ones of the practitioner with the most."""
    offer = max(plan, key=lambda o: len(plan[o]))
    taken = plan[offer][-rounds:]
    plan[offer] = plan[offer][:-rounds]
    return [(offer, start) for start in taken]


def contested(base: str, slots: list[tuple[Offer, datetime]], clients: int, run_id: str) -> Contest:
    return asyncio.run(_contest(base, slots, clients, run_id))


async def _contest(
    base: str, slots: list[tuple[Offer, datetime]], clients: int, run_id: str
) -> Contest:
    import httpx

    answers: list[tuple[str, float]] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        for r, (offer, start) in enumerate(slots):
            bodies = [_body(offer, start, f"{run_id}-{r}-{n}") for n in range(clients)]
            answers += await asyncio.gather(*(_post(http, b) for b in bodies))
    took = time.perf_counter() - began
    ms = sorted(t * 1000 for _, t in answers)
    return Contest(
        rounds=len(slots),
        clients=clients,
        statuses=dict(Counter(code for code, _ in answers)),
        duration_s=took,
        p50_ms=statistics.median(ms),
        p99_ms=ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        max_ms=ms[-1],
    )


async def _post(http: object, body: dict[str, object]) -> tuple[str, float]:
    import httpx

    assert isinstance(http, httpx.AsyncClient)
    began = time.perf_counter()
    try:
        response = await http.post("/v1/bookings", json=body)
    except httpx.TimeoutException:
        return "timeout", time.perf_counter() - began
    except httpx.TransportError:
        return "socket error", time.perf_counter() - began
    return str(response.status_code), time.perf_counter() - began


def _body(offer: Offer, start: datetime, tag: str) -> dict[str, object]:
    patient = {
        "first_name": "Rival",
        "last_name": f"Patient {tag}",
        "email": f"rival-{tag}@example.com",
    }
    return offer.booking(start, patient)
