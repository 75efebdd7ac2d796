"""The owner dashboard's metrics page (`/owner/metrics`) over HTTP, on the month planted by
support/planted_month.py through the real use cases and moved into the lake: every metric's
table shows the planted figures (the same ones tests/integration/test_analytics_metrics.py
reads from the API), each table's CSV link is the API's CSV of it, no patient shows, and only
analysts and admins see any of it. SQLite only: the metrics themselves are tested on both
databases; this is the page over them."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Sequence

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.calendars.ports import BusyFeed
from clinicflow.shared.clock import FixedClock
from clinicflow.web.security import CSP
from support.api import bearer, booking, request_link
from support.app import admin_session, staff_session
from support.pages import INLINE, cookie, tables_of
from support.planted_month import outlook, plant

# The planted people: "Plant<n> Example", plant<n>@example.com, +1512556…; "Wait<n>" on the
# waitlist. None may reach the page.
PERSONAL = re.compile(r"Plant\d|Wait\d|Example\b|@example\.(com|org)|512556")
PERIOD = "from=2027-01-25&to=2027-02-28"  # the bookings were made on 25 January


@pytest.fixture
def calendar_feeds() -> Sequence[BusyFeed]:
    return [outlook()]


def _csv_links(page: str) -> dict[str, str]:
    """Each table's CSV link by the table's id (the link follows its table)."""
    links: dict[str, str] = {}
    for found in re.finditer(r'<table id="table-([a-z-]+)".*?href="([^"]+)" download', page, re.S):
        links[found[1]] = html.unescape(found[2])
    return links


def _body(table: list[list[str]]) -> list[list[str]]:
    return table[1:]


async def test_every_metric_shows_the_planted_figures_with_its_chart_and_csv(
    container: Container, clock: FixedClock, client: httpx.AsyncClient
) -> None:
    await plant(container, clock, client)
    assert await container.analytics.writer.sync() > 0
    analyst = await staff_session(container, "owner", "analyst")
    page = await client.get(f"/owner/metrics?{PERIOD}", headers=cookie(analyst))

    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    shown = tables_of(page.text)
    coach = container.catalog.practitioners["gaps_coach"].name
    gaps, alt = "GAPS nutrition coaching", "Alternative medicine"

    assert [coach, "2027-02-01", "720", "1000", "72.0%"] in _body(shown["utilization"])
    assert _body(shown["revenue"]) == [
        [alt, "2027-02", "357.00", "0.00", "357.00", "3", "119.00"],
        [gaps, "2027-02", "780.00", "50.00", "730.00", "4", "182.50"],
    ]
    assert _body(shown["revenue-total"]) == [
        ["All services", "1137.00", "50.00", "1087.00", "7", "155.29"]
    ]
    assert _body(shown["acquisition"]) == [
        ["2027-02-01", "Not known", "12"],
        ["2027-02-08", "Campaign", "2"],
        ["2027-02-08", "Not known", "6"],
    ]
    assert _body(shown["waitlist-weeks"]) == [["Counseling", "2027-02-22", "3", "0", "0"]]
    assert _body(shown["waitlist-services"]) == [["Counseling", "3", "0", "0", "0", "0.0%", "none"]]
    assert _body(shown["cross-service"]) == [["All services", "20", "3", "15.0%"]]
    matrix = shown["cross-service-matrix"]
    assert matrix[0] == ["First service", alt, "No second service"]
    assert [gaps, "3", "9"] in matrix  # 3 went on to alternative medicine, 9 did not
    assert _body(shown["churn"]) == [
        [alt, "9", "0", "0.0%", "90"],
        [gaps, "11", "0", "0.0%", "90"],
    ]
    assert shown["retention-cohorts"] == [
        ["First visit in", "Patients", "Month 0"],
        ["2027-02", "17", "100.0%"],
    ]
    assert 'class="num shade-4">100.0%</td>' in page.text  # shaded by a class, not a style
    assert _body(shown["rebook"]) == [
        [alt, "9", "1", "11.1%"],
        [gaps, "11", "3", "27.3%"],
    ]
    assert _body(shown["no-shows-service"]) == [
        [alt, "13", "2", "1", "15.4%", "7.7%"],
        [gaps, "12", "1", "0", "8.3%", "0.0%"],
    ]
    weekdays = {row[0]: row[2] for row in _body(shown["no-shows-weekday"])}
    assert weekdays["Wednesday"] == "2"
    assert weekdays["Friday"] == "1"
    assert sum(int(row[2]) for row in _body(shown["no-shows-lead-time"])) == 3
    assert _body(shown["geography"]) == [
        ["606", "withheld", "withheld", "withheld"],
        ["Not known", "18", "21", "849.00"],
    ]
    assert "1 area has fewer than 5 patients" in page.text
    assert _body(shown["funnel"]) == [
        [alt, "0", "0", "14", "3", "9"],
        [gaps, "4", "0", "12", "4", "11"],
        ["All services", "4", "0", "26", "7", "20"],
    ]
    assert _body(shown["funnel-rates"])[1] == [gaps, "0.0%", "none", "33.3%", "91.7%"]

    for chart in ("utilization", "revenue-month", "acquisition", "waitlist", "funnel"):
        assert f'data-chart="chart-{chart}"' in page.text
        assert f'<script type="application/json" id="chart-{chart}">' in page.text
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert all('src="/static/' in s or 'type="application/json"' in s for s in scripts)
    for inline in INLINE[1:]:
        assert not inline.search(page.text), inline.pattern
    assert PERSONAL.search(page.text) is None

    links = _csv_links(page.text)
    assert set(links) == set(shown)
    assert links["revenue"] == (
        "/v1/analytics/revenue?from=2027-01-25&to=2027-02-28&group_by=service%2Cmonth&format=csv"
    )
    got = await client.get(links["revenue"], headers=cookie(analyst))
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert list(csv.reader(io.StringIO(got.text))) == [
        ["service", "month", "gross_cents", "refunded_cents", "net_cents", "visits",
         "net_per_visit_cents"],
        ["alternative_medicine", "2027-02", "35700", "0", "35700", "3", "11900.0"],
        ["gaps_coaching", "2027-02", "78000", "5000", "73000", "4", "18250.0"],
    ]  # fmt: skip
    matrix_csv = await client.get(links["cross-service-matrix"], headers=cookie(analyst))
    assert "gaps_coaching,alternative_medicine,3,3,1.0" in matrix_csv.text


async def test_an_empty_lake_says_so_in_words_and_a_bad_period_is_explained(
    container: Container, client: httpx.AsyncClient
) -> None:
    admin = cookie(await admin_session(container))
    page = await client.get(f"/owner/metrics?{PERIOD}", headers=admin)

    assert page.status_code == 200
    shown = tables_of(page.text)
    assert set(shown) == {"utilization"}  # the offered minutes are there, nothing booked
    assert {row[2] for row in _body(shown["utilization"])} == {"0"}
    assert "No payments or refunds in these days." in page.text
    assert "No new patients in these days." in page.text
    assert 'value="2027-01-25"' in page.text

    for bad, said in (
        ("from=2027-02-28&to=2027-02-01", "The first day was after the last."),
        ("from=yesterday&to=", "Days are written YYYY-MM-DD"),
        ("from=2020-01-01&to=2027-01-01", "Pick at most three years at a time."),
    ):
        answer = await client.get(f"/owner/metrics?{bad}", headers=admin)
        assert answer.status_code == 200
        assert said in answer.text
        assert "Showing the last 90 days instead." in answer.text


async def test_only_analysts_and_admins_see_the_metrics(
    container: Container, client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    assert (
        await client.post("/v1/bookings", json=booking(), headers=front_desk)
    ).status_code == 201
    token = await request_link(client, container, "pat1@example.com")
    session = await client.post("/v1/auth/patient-session", json={"token": token})
    patient = cookie(bearer(session.json()["token"]))
    client.cookies.clear()  # the patient's sign-in set its cookie: each call brings its own
    billing = cookie(await staff_session(container, "bill", "billing"))
    url = f"/owner/metrics?{PERIOD}"
    for who in ({}, cookie(front_desk), billing, patient):
        page = await client.get(url, headers=who)

        assert page.status_code == 200
        assert tables_of(page.text) == {}
        assert "shown to admins and analysts" in page.text
        assert 'href="/staff"' in page.text
        csv_answer = await client.get(
            "/v1/analytics/revenue?from=2027-01-25&to=2027-02-28&format=csv", headers=who
        )
        assert csv_answer.status_code == (401 if not who else 403)
        assert "gross_cents" not in csv_answer.text
    analyst = cookie(await staff_session(container, "numbers", "analyst"))
    assert "<h1>Metrics</h1>" in (await client.get(url, headers=analyst)).text
