"""The staff console over HTTP (the app, a browser per staff member and this afternoon's visits:
this folder's conftest.py). This module: the patient record leaves the audit row the API leaves;
the front desk books for a patient (not offered to other roles); the launch and the flags are
for admins only; billing refunds a payment.
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.gateway.app import create_app
from support.fake_stripe import FakeStripe
from support.payments import PaidVisit
from support.staff_console import TODAY_2PM, audit_rows, post, staff
from support.staff_console import sign_in_over_http as sign_in
from support.staff_console_pages import ADMIN, Browser


async def test_opening_a_record_leaves_the_audit_row_the_api_leaves(
    browser: Browser, container: Container, visits: dict[str, tuple[str, str]]
) -> None:
    _, ana_patient = visits["ana"]
    _, ben_patient = visits["ben"]
    doctor = await staff(container, "elena", "practitioner", "doctor1")
    async with browser(doctor) as http:
        record = await http.get(f"/staff/patients/{ana_patient}")
        assert record.status_code == 200
        assert "Ana Quill" in record.text
        assert (await http.get(f"/staff/patients/{ben_patient}")).status_code == 404
    rows = await audit_rows(container, "read_record")
    assert sorted(rows) == sorted(
        [
            ("practitioner", ana_patient, ana_patient, "allowed"),
            ("practitioner", ben_patient, ben_patient, "denied"),
        ]
    )


async def test_the_front_desk_books_for_a_new_patient_and_for_one_on_record(
    browser: Browser, container: Container, visits: dict[str, tuple[str, str]]
) -> None:
    _, ana_patient = visits["ana"]
    desk = await staff(container, "desk", "front_desk")
    async with browser(desk) as http:
        week = await http.get(
            "/staff/book",
            params={"visit": "alternative_medicine:initial:20", "practitioner": "doctor1"},
        )
        starts = re.findall(r'name="start" value="([^"]+)"', week.text)
        assert len(starts) >= 2
        made = []
        for start, who in ((starts[0], None), (starts[-1], ana_patient)):
            form = {"visit": "alternative_medicine:initial:20", "start": start}
            form |= {"practitioner": "doctor1"} | ({"patient": who} if who else {})
            held = await post(http, "/staff/book/hold", form)
            assert held.status_code == 303, held.text
            details = held.headers["location"]
            if who is None:
                missing = await post(http, details, {"first_name": "Cy", "last_name": "Vale"})
                assert missing.status_code == 422
                assert "Give an email or a phone number" in missing.text
                patient = {"first_name": "Cy", "last_name": "Vale", "email": "cy@example.com"}
            else:
                page = await http.get(details)
                assert "For <strong>Ana Quill</strong>" in page.text
                patient = {}
            done = await post(http, details, patient)
            assert done.status_code == 303, done.text
            made.append(done.headers["location"].rsplit("/", 1)[1])
    async with container.db.read() as conn:
        rows = {
            r.id: (r.status, r.patient_id)
            for r in await conn.execute(select(appointments).where(appointments.c.id.in_(made)))
        }
    assert rows[made[0]][0] == rows[made[1]][0] == "confirmed"
    assert rows[made[1]][1] == ana_patient
    assert rows[made[0]][1] not in (None, ana_patient)


@pytest.mark.parametrize("role", ["billing", "analyst", "practitioner"])
async def test_booking_for_a_patient_is_not_offered_to_roles_that_may_not(
    browser: Browser, container: Container, role: str
) -> None:
    who = await staff(container, f"{role}1", role, "nurse" if role == "practitioner" else None)
    async with browser(who) as http:
        home = await http.get("/staff", follow_redirects=True)
        assert 'href="/staff/book"' not in home.text
        form = {"visit": "alternative_medicine:initial:20", "start": TODAY_2PM.isoformat()}
        answer = await post(http, "/staff/book/hold", form)
        assert answer.status_code == 403
    async with container.db.read() as conn:
        assert (await conn.execute(select(appointments))).first() is None


@pytest.mark.parametrize("role", ["front_desk", "billing", "practitioner", "analyst"])
async def test_the_launch_and_the_flags_are_for_admins_only(
    browser: Browser, container: Container, role: str
) -> None:
    who = await staff(container, f"{role}1", role, "nurse" if role == "practitioner" else None)
    async with browser(who) as http:
        waitlist = await http.get("/staff/waitlist")
        assert "/launch" not in waitlist.text
        launch = await post(http, "/staff/waitlist/counseling/launch")
        assert launch.status_code == 403
        assert "your role may not launch services" in launch.text.lower()
        assert (await http.get("/staff/flags")).status_code == 403
        flag = await post(http, "/staff/flags/waitlist_auto_offers", {"percentage": "50"})
        assert flag.status_code == 403
    assert all(f.updated_at is None for f in await container.flags.list(ADMIN))


async def test_an_admin_is_told_why_a_tbd_service_cannot_launch_and_may_set_a_flag(
    client: httpx.AsyncClient, container: Container
) -> None:
    await sign_in(client, container, await staff(container, "ada", "admin"))
    page = await client.get("/staff/waitlist", params={"service": "counseling"})
    assert "Not ready yet: no visit durations are configured" in page.text
    refused = await post(client, "/staff/waitlist/counseling/launch")
    assert refused.status_code == 422
    assert "Counseling cannot launch yet: no visit durations are configured" in refused.text
    assert not container.catalog.services["counseling"].bookable

    flag = await post(client, "/staff/flags/waitlist_auto_offers", {"percentage": "40"})
    assert flag.status_code == 303
    flags = {f.key: f for f in await container.flags.list(ADMIN)}
    assert (flags["waitlist_auto_offers"].enabled, flags["waitlist_auto_offers"].percentage) == (
        False,
        40,
    )


async def test_billing_refunds_from_the_visits_payment_and_other_roles_are_refused(
    api: httpx.AsyncClient, pay: Container, stripe_server: FakeStripe, paid: PaidVisit
) -> None:
    booking, order = paid.booking, paid.order
    billing = await staff(pay, "bill", "billing")
    await sign_in(api, pay, billing)
    visit = await api.get(f"/staff/bookings/{booking['id']}")
    assert f'href="/staff/payments/{order["id"]}"' in visit.text
    page = await api.get(f"/staff/payments/{order['id']}")
    assert page.status_code == 200
    assert "Payment of $119.00" in page.text
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key is not None

    form = {"booking_id": "", "amount": "forty", "reason": "", "key": key.group(1)}
    wrong = await post(api, f"/staff/payments/{order['id']}/refund", form)
    assert wrong.status_code == 422
    assert 'id="f-amount-error"' in wrong.text
    assert "Give the amount in dollars, e.g. 40 or 40.50" in wrong.text
    assert 'id="f-reason-error">Say why the payment is refunded<' in wrong.text

    form |= {"amount": "40.50", "reason": "goodwill: the room was cold"}
    for _ in range(2):  # pressed twice: refunded once (the form's key)
        done = await post(api, f"/staff/payments/{order['id']}/refund", form)
        assert done.status_code == 303, done.text
    shown = await api.get(f"/staff/payments/{order['id']}")
    assert "goodwill: the room was cold" in shown.text
    intent = order["provider_id"]
    refunds = [r["amount"] for r in stripe_server.refunds.values() if r["payment_intent"] == intent]
    assert refunds == [4050]

    for role in ("practitioner", "analyst"):
        who = await staff(pay, f"{role}9", role, "doctor1" if role == "practitioner" else None)
        transport = httpx.ASGITransport(app=create_app(container=pay))
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            await sign_in(http, pay, who)
            assert (await http.get(f"/staff/payments/{order['id']}")).status_code == 403
            form = {"amount": "10", "reason": "try", "key": "k" * 12}
            refused = await post(http, f"/staff/payments/{order['id']}/refund", form)
            assert refused.status_code == 403
            assert "your role may not refund payments" in refused.text.lower()
    assert len([r for r in stripe_server.refunds.values() if r["payment_intent"] == intent]) == 1
