"""Midnight is an instant: an exact-midnight date-time in availability's `start`/`end` and
the bookings list's `from`/`to` keeps its offset (and gains no day as an end bound); only a
plain date means the clinic's whole local day. SQLite, and PostgreSQL when reachable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

ALT = {"service": "alternative_medicine", "visit_type": "initial", "duration": 20}


async def _slots(client: httpx.AsyncClient, start: str, end: str) -> list[str]:
    resp = await client.get("/v1/availability", params={**ALT, "start": start, "end": end})
    assert resp.status_code == 200, resp.text
    return [s["start"] for s in resp.json()["slots"]]


def _within(starts: list[str], lo: str, hi: str) -> list[str]:
    low, high = datetime.fromisoformat(lo), datetime.fromisoformat(hi)
    return [s for s in starts if low <= datetime.fromisoformat(s) < high]


async def test_availability_between_utc_instants_is_exactly_that_window(
    client: httpx.AsyncClient,
) -> None:
    # Wednesday 9 December and Thursday 10 December, whole local days (Chicago, UTC-6).
    both_days = await _slots(client, "2026-12-09", "2026-12-10")
    windows = [
        ("2026-12-10T00:00:00Z", "2026-12-10T06:00:00Z"),  # 18:00-24:00 on the 9th: closed
        ("2026-12-09T22:00:00Z", "2026-12-10T00:00:00Z"),  # 16:00-18:00 on the 9th
        ("2026-12-10T00:00:00+09:00", "2026-12-11T00:00:00+09:00"),  # 09:00 9th - 09:00 10th
    ]

    answers = {w: await _slots(client, *w) for w in windows}

    for (lo, hi), starts in answers.items():
        assert starts == _within(both_days, lo, hi), (lo, hi)
    assert answers[windows[0]] == []
    assert answers[windows[1]]  # doctor2 works until 18:00 on Wednesdays
    assert all(s.startswith("2026-12-09T1") for s in answers[windows[1]])
    assert answers[windows[2]][0] == "2026-12-09T09:00:00-06:00"
    assert answers[windows[2]][-1] < "2026-12-10T09:00:00-06:00"


async def test_the_bookings_list_reads_midnight_bounds_as_instants(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    made: list[dict[str, Any]] = []
    for n, start in enumerate(["2026-11-25T10:00:00-06:00", "2026-11-27T10:00:00-06:00"]):
        body = {**ALT, "start": start, "practitioner": "doctor1"}
        patient = {"first_name": f"Pat{n}", "last_name": "Example", "email": f"p{n}@example.com"}
        resp = await client.post("/v1/bookings", json=body | {"patient": patient})
        assert resp.status_code == 201, resp.text
        made.append(resp.json())

    async def listed(lo: str, hi: str) -> list[str]:
        params = {"from": lo, "to": hi}
        resp = await client.get("/v1/bookings", params=params, headers=front_desk)
        assert resp.status_code == 200, resp.text
        return [b["id"] for b in resp.json()["bookings"]]

    # Midnight in Tokyo's offset: 09:00 in Chicago the day before, so the second visit
    # (Friday 10:00) is outside; read as a whole local day, `to` would reach Sunday.
    instants = await listed("2026-11-25T00:00:00+09:00", "2026-11-28T00:00:00+09:00")
    whole_days = await listed("2026-11-25", "2026-11-27")

    assert instants == [made[0]["id"]]
    assert whole_days == [made[0]["id"], made[1]["id"]]
