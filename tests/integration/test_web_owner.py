"""The owner's dashboard over HTTP, on the demo clinic's data (loaded through the use cases by
`clinicflow.demo`): who sees which figures (as the API's rules say), that the figures are the
demo's sums, that each CSV holds its table's rows and nothing about a patient, and the page's
CSP (the charts' data are JSON blocks, never executed)."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.demo import JOINS, PEOPLE, DemoLoaded, load_demo
from clinicflow.shared.clock import FixedClock
from clinicflow.web.security import CSP
from support.app import admin_session, staff_session
from support.pages import cookie, tables_of

TABLES = (
    "revenue-by-service",
    "revenue-by-day",
    "waitlist-size",
    "waitlist-growth",
    "waitlist-conversion",
)
REVENUE = TABLES[:2]
WAITLISTS = TABLES[2:]
# What names the demo's people (patients and people on a waitlist): their last names as
# words, and any email address or phone number. None of it may reach the dashboard.
PERSONAL = re.compile(
    r"\b(" + "|".join([*(p.last_name for p in PEOPLE), *(j[2] for j in JOINS)]) + r")\b"
    r"|@example\.com|\+?1?512555"
)

# As tests/integration/test_web_security.py looks for them; a script without src is checked
# apart (the charts' JSON data blocks are the only ones, and are never executed).
INLINE = [
    re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),
    re.compile(r"<[^>]+\sstyle\s*=", re.I),
    re.compile(r"<style", re.I),
    re.compile(r"(src|href)=\"(https?:)?//", re.I),
]


@pytest.fixture
async def demo(container: Container, clock: FixedClock) -> DemoLoaded:
    await staff_session(container, "frontdesk", "front_desk")  # the demo's desk does the visits
    return await load_demo(container, clock)


async def test_an_analyst_sees_the_demos_revenue_and_waitlists_and_no_patient(
    client: httpx.AsyncClient, container: Container, demo: DemoLoaded
) -> None:
    analyst = cookie(await staff_session(container, "numbers", "analyst"))
    page = await client.get("/owner?days=90", headers=analyst)

    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    found = tables_of(page.text)
    assert set(found) == set(TABLES)
    total = found["revenue-by-service"][-1]
    assert total[0] == "All services"
    assert total[2:] == [
        "%.2f" % (demo.refunded_cents / 100),
        "0.00",
        "%.2f" % (demo.net_cents / 100),
    ]
    assert total[1] == "%.2f" % (demo.paid_cents / 100)
    sizes = {row[0]: int(row[1]) for row in found["waitlist-size"][1:]}
    assert sizes == {
        "Counseling": demo.joined["counseling"],
        "Equine therapy": demo.joined["equine_therapy"],
    }
    joins = [row for row in found["waitlist-growth"][1:]]
    assert sum(int(row[-1]) for row in joins) == sum(demo.joined.values())
    assert PERSONAL.search(page.text) is None
    # Each chart's data is a JSON block (not executed, so the CSP needs no 'unsafe-inline').
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts
    assert all('src="/static/' in s or 'type="application/json"' in s for s in scripts)
    assert len(re.findall(r'<script type="application/json" id="chart-', page.text)) >= 2
    for inline in INLINE:
        assert not inline.search(page.text), inline.pattern


async def test_each_csv_holds_its_tables_rows_and_names_no_one(
    client: httpx.AsyncClient, container: Container, demo: DemoLoaded, clock: FixedClock
) -> None:
    analyst = cookie(await staff_session(container, "numbers", "analyst"))
    shown = tables_of((await client.get("/owner?days=90", headers=analyst)).text)
    for key in TABLES:
        got = await client.get(f"/owner/{key}.csv?days=90", headers=analyst)

        assert got.status_code == 200
        assert got.headers["content-type"] == "text/csv; charset=utf-8"
        assert got.headers["content-disposition"] == (
            f'attachment; filename="clinicflow-{key}-{clock.now().date().isoformat()}.csv"'
        )
        assert list(csv.reader(io.StringIO(got.text))) == shown[key]
        assert PERSONAL.search(got.text) is None


async def test_the_range_picker_chooses_30_or_90_days_and_nothing_else(
    client: httpx.AsyncClient, container: Container, demo: DemoLoaded
) -> None:
    analyst = cookie(await staff_session(container, "numbers", "analyst"))
    month = tables_of((await client.get("/owner?days=30", headers=analyst)).text)
    quarter = tables_of((await client.get("/owner?days=90", headers=analyst)).text)
    edited = await client.get("/owner?days=7000", headers=analyst)

    assert len(quarter["revenue-by-day"]) > len(month["revenue-by-day"]) > 1
    assert len(quarter["waitlist-growth"]) == 1 + 13  # weeks, and the header row
    assert len(month["waitlist-growth"]) == 1 + 5
    assert edited.status_code == 200
    assert tables_of(edited.text) == month
    assert '<option value="30" selected>' in edited.text


@pytest.mark.parametrize(
    ("role", "sees"),
    [("admin", TABLES), ("billing", REVENUE), ("front_desk", WAITLISTS), ("analyst", TABLES)],
)
async def test_each_role_sees_what_the_api_lets_it_read(
    client: httpx.AsyncClient,
    container: Container,
    demo: DemoLoaded,
    role: str,
    sees: tuple[str, ...],
) -> None:
    if role == "admin":
        who = cookie(await admin_session(container))
    else:
        who = cookie(await staff_session(container, f"a-{role}", role))
    page = await client.get("/owner", headers=who)

    assert page.status_code == 200
    assert set(tables_of(page.text)) == set(sees)
    if "revenue-by-service" not in sees:
        assert "Revenue is shown to admins, billing staff and analysts." in page.text
        refused = await client.get("/owner/revenue-by-service.csv", headers=who)
        assert refused.status_code == 404
        assert "text/html" in refused.headers["content-type"]
    if "waitlist-size" not in sees:
        assert "Waitlist figures are shown to admins, the front desk and analysts." in page.text
        refused = await client.get("/owner/waitlist-size.csv", headers=who)
        assert refused.status_code == 404


async def test_someone_who_may_see_nothing_is_told_who_may_and_where_to_sign_in(
    client: httpx.AsyncClient, container: Container, demo: DemoLoaded
) -> None:
    practitioner = cookie(await staff_session(container, "doc", "practitioner", "doctor1"))
    patient = (
        await container.identity.sessions.open_for_patient(await _a_patient(container))
    ).token
    for headers in ({}, practitioner, {"Cookie": f"cf_session={patient}"}):
        page = await client.get("/owner", headers=headers)

        assert page.status_code == 200
        assert tables_of(page.text) == {}
        assert "Revenue is shown to admins, billing staff and analysts." in page.text
        assert 'href="/staff"' in page.text
        csv_answer = await client.get("/owner/revenue-by-day.csv", headers=headers)
        assert csv_answer.status_code == 403
        assert "text/html" in csv_answer.headers["content-type"]
        assert "Charged" not in csv_answer.text


async def _a_patient(container: Container) -> str:
    from sqlalchemy import select

    from clinicflow.booking.tables import appointments

    async with container.db.read() as conn:
        found = await conn.execute(select(appointments.c.patient_id).limit(1))
        patient_id = found.scalar()
    assert patient_id is not None
    return str(patient_id)
