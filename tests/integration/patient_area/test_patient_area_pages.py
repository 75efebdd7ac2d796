"""The patient's area over HTTP (helpers: support/patient_area.py; the visit_paid fixture: this
folder's conftest.py): contact details and consents change; every link of every notification
template leads to a working page, signed in or not; every page has the policy and nothing
inline.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6); the visit
is Wednesday 10:00, 25 hours ahead (the full-refund window is 24 hours).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.notifications.domain.payment import PaymentNotice
from clinicflow.notifications.domain.render import TEMPLATES, Renderer, RenderOptions
from clinicflow.notifications.domain.visit import Visit
from clinicflow.shared.clock import FixedClock
from clinicflow.web.security import CSP, CSRF_FIELD
from support.pages import INLINE
from support.patient_area import BASE, SIGNED_OUT, book, csrf, signed_in

# -- contact details and consents ------------------------------------------------------------


async def test_the_patient_changes_contact_details_and_consents(
    client: httpx.AsyncClient, container: Container
) -> None:
    visit = await book(client)
    await signed_in(client, container, "pat1@example.com")
    page = await client.get("/me/details")
    assert page.status_code == 200
    form = {
        CSRF_FIELD: csrf(page),
        "first_name": "Pat",
        "last_name": "One",
        "email": "pat1@example.com",
        "phone": "512 555 0199",
        "pronouns": "they/them",
        "pref_email": "on",
        "pref_sms": "on",
    }
    saved = await client.post("/me/details", data=form)
    assert saved.status_code == 303
    shown = await client.get(saved.headers["location"])
    assert "Saved." in shown.text
    assert 'value="+15125550199"' in shown.text
    assert shown.text.count("You agreed on 2026-11-24") == 2
    api = await client.get(f"/v1/patients/{visit['patient_id']}")
    prefs = api.json()["contact_prefs"]
    assert (prefs["email"]["opt_in"], prefs["sms"]["opt_in"]) == (True, True)
    assert "push" not in prefs or not prefs["push"]["opt_in"]

    bad = await client.post("/me/details", data={**form, "email": "nope", "first_name": ""})
    assert bad.status_code == 422
    assert 'id="f-email-error"' in bad.text
    assert 'id="f-first_name-error"' in bad.text
    assert (await client.get(f"/v1/patients/{visit['patient_id']}")).json()["first_name"] == "Pat"


# -- every link a notification carries -------------------------------------------------------


async def test_every_link_in_every_notification_template_opens_a_page(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    visit_paid: tuple[dict[str, Any], ...],
) -> None:
    """Each template, each channel, rendered for a real visit and its real (paid, refunded)
    order: every URL in it answers 200 to its signed-in patient, and 200 with the sign-in
    page to a browser that is signed out."""
    made, order = visit_paid
    renderer = Renderer(container.catalog, RenderOptions(BASE))
    start = clock.now() + timedelta(days=1)
    visit = Visit(made["id"], "alternative_medicine", "initial", "doctor1", start, start)
    paid = PaymentNotice(
        order["id"], order["total_cents"], order["total_cents"], 0, "USD", "in_clinic",
        "in_clinic", (made["id"],),
    )  # fmt: skip
    names = {".".join(p.name.split(".")[:2]) for p in TEMPLATES.iterdir()}
    templates = sorted(n for n in names if not n.startswith("_") and ".subject" not in n)
    assert len(templates) == 14
    urls: set[str] = set()
    for template in templates:
        kind = template.split(".")[0]
        out = renderer.render(template, paid if kind in ("receipt", "refund") else visit)
        for text in (out.subject, out.text, out.html or "", *(out.data or {}).values()):
            urls |= {u.rstrip(".,;)") for u in re.findall(r"https?://[^\s\"'<>]+", text)}
    paths = {u.removeprefix(BASE) for u in urls}
    assert paths == {f"/me/visits/{made['id']}", f"/me/receipts/{order['id']}"}

    for path in sorted(paths):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert SIGNED_OUT in page.text, path
    await signed_in(client, container, "pat1@example.com")
    for path in sorted(paths):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert SIGNED_OUT not in page.text, path
        assert page.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("signed", [False, True])
async def test_every_patient_page_has_the_policy_and_nothing_inline(
    client: httpx.AsyncClient,
    container: Container,
    visit_paid: tuple[dict[str, Any], ...],
    signed: bool,
) -> None:
    visit, order = visit_paid
    if signed:
        await signed_in(client, container, "pat1@example.com")
    for path in (
        "/sign-in?token=cfl_x",
        "/me",
        f"/me/visits/{visit['id']}",
        f"/me/visits/{visit['id']}/cancel",
        f"/me/visits/{visit['id']}/reschedule",
        f"/me/receipts/{order['id']}",
        "/me/details",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CSP, path
        assert page.headers["cache-control"] == "no-store", path
        for pattern in INLINE:
            assert not pattern.search(page.text), (path, pattern.pattern)
