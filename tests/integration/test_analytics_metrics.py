"""The metrics (docs/analytics.md "Metrics") over a planted month (support/planted_month.py):
each metric gives exactly the figures planted through the real use cases, on SQLite and
PostgreSQL; who may ask; CSV; no patient key in any answer; `clinicflow analytics query`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.calendars.ports import BusyFeed
from clinicflow.cli_analytics import Refused, read_only
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import bearer, booking, request_link
from support.app import admin_session, staff_session
from support.planted_month import outlook, plant

pytestmark = pytest.mark.both_databases


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"analytics_churn_days": {"alternative_medicine": 14}})


@pytest.fixture
def calendar_feeds() -> Sequence[BusyFeed]:
    return [outlook()]


async def _ask(
    client: httpx.AsyncClient, who: dict[str, str], metric: str, **query: str
) -> list[dict[str, Any]]:
    params = {"from": "2027-02-01", "to": "2027-02-28", **query}
    resp = await client.get(f"/v1/analytics/{metric}", params=params, headers=who)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "patient_key" not in resp.text
    assert "contact_key" not in resp.text
    names = [c["name"] for c in body["columns"]]
    return [dict(zip(names, row, strict=True)) for row in body["rows"]]


async def _one_visit_in_the_lake(
    container: Container, client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    made = await client.post("/v1/bookings", json=booking(), headers=desk)
    assert made.status_code == 201, made.text
    await container.bus.run_once()
    await container.analytics.writer.sync()


async def test_a_planted_month_gives_exactly_its_figures_from_every_metric(
    container: Container,
    clock: FixedClock,
    client: httpx.AsyncClient,
) -> None:
    await plant(container, clock, client)
    assert await container.analytics.writer.sync() > 0
    analyst = await staff_session(container, "owner", "analyst")

    rows = await _ask(client, analyst, "utilization", to="2027-02-07")
    coach = [r for r in rows if r["practitioner"] == "gaps_coach"]
    assert coach == [
        {
            "practitioner": "gaps_coach",
            "week": "2027-02-01",
            "booked_min": 720,
            "offered_min": 1000,
            "utilization": 0.72,
        }
    ]
    # A practitioner offered time with nothing booked is 0% used, not unknown.
    idle = [r for r in rows if r["booked_min"] == 0 and r["offered_min"] > 0]
    assert idle
    assert {r["utilization"] for r in idle} == {0.0}
    by_service = await _ask(
        client, analyst, "utilization", to="2027-02-07", group_by="service,practitioner"
    )
    assert {
        "service": "gaps_coaching",
        "practitioner": "gaps_coach",
        "booked_min": 720,
        "offered_min": 1000,
        "utilization": 0.72,
    } in by_service

    assert await _ask(client, analyst, "revenue") == [
        {
            "service": "alternative_medicine",
            "month": "2027-02",
            "gross_cents": 35700,
            "refunded_cents": 0,
            "net_cents": 35700,
            "visits": 3,
            "net_per_visit_cents": 11900.0,
        },
        {
            "service": "gaps_coaching",
            "month": "2027-02",
            "gross_cents": 78000,
            "refunded_cents": 5000,
            "net_cents": 73000,
            "visits": 4,
            "net_per_visit_cents": 18250.0,
        },
    ]

    assert await _ask(client, analyst, "cross-service") == [
        {"patients": 20, "multi_service_patients": 3, "share": 0.15}
    ]
    matrix = await _ask(client, analyst, "cross-service", group_by="first_service,second_service")
    assert {
        "first_service": "gaps_coaching",
        "second_service": "alternative_medicine",
        "patients": 3,
        "multi_service_patients": 3,
        "share": 1.0,
    } in matrix

    assert await _ask(client, analyst, "no-shows") == [
        {
            "service": "alternative_medicine",
            "bookings": 13,
            "no_shows": 2,
            "late_cancels": 1,
            "no_show_rate": 0.1538,
            "late_cancel_rate": 0.0769,
        },
        {
            "service": "gaps_coaching",
            "bookings": 12,
            "no_shows": 1,
            "late_cancels": 0,
            "no_show_rate": 0.0833,
            "late_cancel_rate": 0.0,
        },
    ]
    no_shows = await _ask(client, analyst, "no-shows", group_by="weekday,lead_time")
    assert sum(r["no_shows"] for r in no_shows) == 3
    assert {(r["weekday"], r["lead_time"]) for r in no_shows if r["no_shows"]} == {
        ("Friday", "7-30d"),
        ("Wednesday", "7-30d"),
    }

    assert await _ask(client, analyst, "acquisition") == [
        {"week": "2027-02-01", "service": "gaps_coaching", "source": "unknown", "new_patients": 12},
        {
            "week": "2027-02-08",
            "service": "alternative_medicine",
            "source": "campaign",
            "new_patients": 2,
        },
        {
            "week": "2027-02-08",
            "service": "alternative_medicine",
            "source": "unknown",
            "new_patients": 6,
        },
    ]

    assert await _ask(client, analyst, "churn") == [
        {
            "service": "alternative_medicine",
            "patients": 9,
            "churned": 8,
            "churn_rate": 0.8889,
            "window_days": 14,
        },
        {
            "service": "gaps_coaching",
            "patients": 11,
            "churned": 0,
            "churn_rate": 0.0,
            "window_days": 90,
        },
    ]
    assert await _ask(client, analyst, "retention") == [
        {
            "cohort_month": "2027-02",
            "months_after": 0,
            "patients": 17,
            "retained": 17,
            "retention_rate": 1.0,
        }
    ]
    assert await _ask(client, analyst, "retention", view="rebook") == [
        {"service": "alternative_medicine", "attended": 9, "rebooked": 1, "rebook_rate": 0.1111},
        {"service": "gaps_coaching", "attended": 11, "rebooked": 3, "rebook_rate": 0.2727},
    ]

    geography = await client.get(
        "/v1/analytics/geography",
        params={"from": "2027-02-01", "to": "2027-02-28"},
        headers=analyst,
    )
    assert geography.json()["rows"] == [["606", None, None, None], ["unknown", 18, 21, 84900]]
    assert geography.json()["suppressed"] == 1  # two patients in 606: too few to show

    assert await _ask(client, analyst, "funnel", **{"from": "2027-01-25"}) == [
        {
            "service": "alternative_medicine",
            "viewed": 0,
            "held": 0,
            "booked": 14,
            "paid": 3,
            "attended": 9,
        },
        {
            "service": "gaps_coaching",
            "viewed": 4,
            "held": 0,
            "booked": 12,
            "paid": 4,
            "attended": 11,
        },
    ]
    assert await _ask(client, analyst, "waitlist") == [
        {
            "service": "counseling",
            "joined": 3,
            "withdrawn": 0,
            "converted": 0,
            "first_visits": 0,
            "conversion_rate": 0.0,
            "avg_days_to_conversion": None,
        }
    ]


@pytest.mark.one_database
async def test_only_analysts_and_admins_read_metrics_and_bad_questions_are_problems(
    container: Container, client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    url = "/v1/analytics/revenue?from=2027-02-01&to=2027-02-28"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=front_desk)).status_code == 403
    billing = await staff_session(container, "bill", "billing")
    assert (await client.get(url, headers=billing)).status_code == 403
    assert (await client.post("/v1/bookings", json=booking())).status_code == 201
    token = await request_link(client, container, "pat1@example.com")
    session = await client.post("/v1/auth/patient-session", json={"token": token})
    patient = bearer(session.json()["token"])
    assert (await client.get(url, headers=patient)).status_code == 403
    admin = await admin_session(container)
    ok = await client.get(url, headers=admin)
    assert ok.status_code == 200, ok.text
    assert ok.json()["rows"] == []

    missing = await client.get(
        "/v1/analytics/nonsense?from=2027-02-01&to=2027-02-28", headers=admin
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    for bad in (
        "/v1/analytics/revenue?from=2027-02-28&to=2027-02-01",
        "/v1/analytics/revenue?from=2027-02-01&to=2027-02-28&group_by=patient_key",
        "/v1/analytics/churn?from=2027-02-01&to=2027-02-28&days=0",
        "/v1/analytics/retention?from=2027-02-01&to=2027-02-28&view=secret",
    ):
        refused = await client.get(bad, headers=admin)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["code"] == "invalid_question"


@pytest.mark.one_database
async def test_a_metric_as_csv(
    container: Container, client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    await _one_visit_in_the_lake(container, client, front_desk)
    analyst = await staff_session(container, "owner", "analyst")
    resp = await client.get(
        "/v1/analytics/no-shows?from=2026-11-01&to=2026-11-30&group_by=service,practitioner",
        headers={**analyst, "Accept": "text/csv"},
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(resp.text))) == [
        [
            "service",
            "practitioner",
            "bookings",
            "no_shows",
            "late_cancels",
            "no_show_rate",
            "late_cancel_rate",
        ],
        ["alternative_medicine", "doctor1", "1", "0", "0", "0.0", "0.0"],
    ]


@pytest.mark.one_database
async def test_the_query_command_reads_the_lake_and_refuses_anything_but_one_select(
    container: Container, client: httpx.AsyncClient, front_desk: dict[str, str], tmp_path: Path
) -> None:
    await _one_visit_in_the_lake(container, client, front_desk)
    files = await container.analytics.lake.files()
    tz = container.catalog.clinic.timezone

    names, rows = read_only(files, tz, "SELECT type, count(*) AS n FROM events GROUP BY type")
    assert names == ["type", "n"]
    assert ("booking.created", 1) in rows
    names, rows = read_only(
        files, tz, "WITH b AS (SELECT status FROM bookings) SELECT count(*) FROM b"
    )
    assert rows == [(1,)]
    outside = tmp_path / "out.csv"
    for refused in (
        "DELETE FROM events",
        "SELECT 1; DROP TABLE events",
        f"COPY (SELECT * FROM events) TO '{outside}'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH 'x.db'",
        "SET enable_external_access = true",
    ):
        with pytest.raises(Refused):
            read_only(files, tz, refused)
    assert not outside.exists()
    assert json.dumps(rows)  # plain values
