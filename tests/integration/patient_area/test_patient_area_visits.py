"""The patient's area over HTTP (helpers: support/patient_area.py; the visit_paid fixture: this
folder's conftest.py): cancelling shows the refund the policy gives and makes exactly that
refund; inside the late window the page says "contact the clinic" and refuses a cancel posted
anyway; rescheduling moves the visit to a time picked from the week.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6); the visit
is Wednesday 10:00, 25 hours ahead (the full-refund window is 24 hours).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx

from clinicflow.bootstrap import Container
from clinicflow.shared.clock import FixedClock
from clinicflow.web.security import CSRF_FIELD
from support.patient_area import book, csrf, refunds_of, signed_in, status_of

# -- cancelling with the refund shown --------------------------------------------------------


async def test_cancelling_shows_the_refund_the_policy_gives_and_makes_exactly_it(
    client: httpx.AsyncClient, container: Container, visit_paid: tuple[dict[str, Any], ...]
) -> None:
    visit, order = visit_paid
    await signed_in(client, container, "pat1@example.com")

    page = await client.get(f"/me/visits/{visit['id']}")
    assert f"/me/receipts/{order['id']}" in page.text
    confirm = await client.get(f"/me/visits/{visit['id']}/cancel")
    assert confirm.status_code == 200
    shown = re.search(r'id="refund-amount">We refund <strong>\$([\d,]+)\.(\d\d)', confirm.text)
    assert shown, confirm.text
    shown_cents = int(shown.group(1).replace(",", "")) * 100 + int(shown.group(2))
    assert shown_cents == order["total_cents"]  # 25 h ahead: in time, all of it

    done = await client.post(f"/me/visits/{visit['id']}/cancel", data={CSRF_FIELD: csrf(confirm)})
    assert done.status_code == 303
    assert (await status_of(container, visit["id"]))[0] == "cancelled"
    await container.bus.run_once()  # the payments subscriber refunds by the policy
    assert await refunds_of(container, order["id"]) == [shown_cents]
    after = await client.get(done.headers["location"])
    assert "Your visit is cancelled" in after.text
    receipt = await client.get(f"/me/receipts/{order['id']}")
    assert receipt.status_code == 200
    assert f"−${shown_cents // 100}.{shown_cents % 100:02d}" in receipt.text
    pdf = await client.get(f"/me/receipts/{order['id']}/receipt.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


async def test_inside_the_late_window_the_page_says_contact_the_clinic_and_refuses(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    visit_paid: tuple[dict[str, Any], ...],
) -> None:
    visit, order = visit_paid
    clock.advance(timedelta(hours=2))  # 23 h before the visit: late
    await signed_in(client, container, "pat1@example.com")
    page = await client.get(f"/me/visits/{visit['id']}")  # its token, for the posts below

    for path in (f"/me/visits/{visit['id']}", f"/me/visits/{visit['id']}/cancel"):
        late = await client.get(path)
        assert late.status_code == 200
        assert "contact the clinic" in late.text
        assert 'href="tel:+15125550142"' in late.text  # the billing identity's phone
        assert "Cancel this visit" not in late.text
        assert "Yes, cancel" not in late.text
    for action in ("cancel", "reschedule"):
        refused = await client.post(
            f"/me/visits/{visit['id']}/{action}",
            data={CSRF_FIELD: csrf(page), "start": "2026-11-26T10:00:00-06:00"},
        )
        assert refused.status_code == 409
    assert (await status_of(container, visit["id"]))[0] == "confirmed"
    await container.bus.run_once()
    assert await refunds_of(container, order["id"]) == []


async def test_rescheduling_moves_the_visit_to_a_time_picked_from_the_week(
    client: httpx.AsyncClient, container: Container
) -> None:
    visit = await book(client)
    await signed_in(client, container, "pat1@example.com")
    week = await client.get(f"/me/visits/{visit['id']}/reschedule")
    assert week.status_code == 200
    starts = re.findall(r'name="start" value="([^"]+)"', week.text)
    assert starts
    new = starts[-1]
    assert f'action="/me/visits/{visit["id"]}/reschedule"' in week.text
    later = await client.get(
        f"/me/visits/{visit['id']}/reschedule?week=2026-12-01", headers={"HX-Request": "true"}
    )
    assert later.text.lstrip().startswith('<section id="week"')  # only the week, for htmx

    moved = await client.post(
        f"/me/visits/{visit['id']}/reschedule", data={CSRF_FIELD: csrf(week), "start": new}
    )
    assert moved.status_code == 303, moved.text
    status, start = await status_of(container, visit["id"])
    assert status == "confirmed"
    assert start.isoformat()[:16] != visit["start"][:16]
    assert "Your visit is moved" in (await client.get(moved.headers["location"])).text

    taken = await book(client, 2, start="2026-11-25T11:00:00-06:00")
    clash = await client.post(
        f"/me/visits/{visit['id']}/reschedule",
        data={CSRF_FIELD: csrf(week), "start": taken["start"]},
    )
    assert clash.status_code == 409
    assert 'role="alert" id="problem"' in clash.text
