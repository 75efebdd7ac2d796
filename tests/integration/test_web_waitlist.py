"""The waitlist's pages over HTTP: joining from the home page (field messages beside the
fields, a repeat join that looks like a first one), the private status page with its
preferences and leaving, and every link in every waitlist message (invitation, offer,
nurture) opening a 200 page; unknown and malformed links answer one 404 that reveals
nothing; forms without their CSRF token change nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.web.security import CSRF_FIELD
from support.app import staff_session
from support.pages import TOKEN
from support.waitlist import join, launchable, links_sent, mailbox, person

LINK = re.compile(r"https?://\S+")
ADMIN = Actor(kind="user", id="admin-1", role=Role.ADMIN)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return launchable(settings, tmp_path).model_copy(update={"public_url": "http://clinic.test"})


async def csrf(client: httpx.AsyncClient) -> str:
    found = TOKEN.search((await client.get("/")).text)
    assert found is not None
    return found.group(1)


def form(n: int, **over: str) -> dict[str, str]:
    return {
        "service": "counseling",
        "first_name": f"Wren{n}",
        "last_name": "Halloway",
        "email": f"wren{n}@example.org",
        "zip": "78701",
        "interest_level": "4",
    } | over


async def join_page(client: httpx.AsyncClient, body: dict[str, str]) -> httpx.Response:
    return await client.post("/waitlist/join", data={CSRF_FIELD: await csrf(client), **body})


def text_of(page: httpx.Response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))


async def test_joining_shows_the_place_the_score_parts_and_the_private_link(
    client: httpx.AsyncClient,
) -> None:
    page = await join_page(client, form(1))
    assert page.status_code == 200, page.text
    words = text_of(page)
    assert "You are on the Counseling waitlist" in words
    assert "number 1 in line" in words
    for part in ("Time on the list", "How keen you said you are", "How near you live"):
        assert part in words
    link = re.search(r'href="(http://clinic\.test/waitlist/mine\?token=[^"]+)"', page.text)
    assert link is not None
    mine = await client.get(link.group(1).removeprefix("http://clinic.test"))
    assert mine.status_code == 200
    assert "number 1 in line" in text_of(mine)

    second = await join_page(client, form(2, interest_level="1"))
    assert "number 2 in line" in text_of(second)


async def test_field_messages_stand_beside_their_fields_and_nothing_is_joined(
    client: httpx.AsyncClient, container: Container
) -> None:
    page = await join_page(client, form(1, zip="7870", email=""))
    assert page.status_code == 422
    assert 'id="wl-counseling-zip-error"' in page.text
    assert "Give the 5-digit ZIP code" in page.text
    assert 'aria-describedby="wl-counseling-zip-error' in page.text
    assert 'value="Wren1"' in page.text  # what was typed is kept
    no_contact = await join_page(client, form(1, email=""))
    assert no_contact.status_code == 422
    assert 'id="wl-counseling-email-error"' in no_contact.text
    listed = await container.waitlist.entries.listed(ADMIN, "counseling")
    assert listed.entries == []


async def test_a_repeat_join_looks_like_a_first_one(client: httpx.AsyncClient) -> None:
    first = await join_page(client, form(1))
    again = await join_page(client, form(1))
    assert again.status_code == first.status_code == 200
    assert "You are on the Counseling waitlist" in text_of(again)
    assert "already" not in text_of(again).lower()


async def test_the_status_page_changes_preferences_and_leaves(client: httpx.AsyncClient) -> None:
    made = await join(client, person(1))
    token = made["token"]
    token_csrf = await csrf(client)
    changed = await client.post(
        "/waitlist/mine/preferences",
        data={CSRF_FIELD: token_csrf, "token": token, "interest_level": "5",
              "preferred_practitioner": "counselor1"},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert "Your preferences are saved." in changed.text
    mine = (await client.get("/v1/waitlist/mine", params={"token": token})).json()
    interest = next(c for c in mine["components"] if c["name"] == "interest")
    assert interest["value"] == 1.0
    wrong = await client.post(
        "/waitlist/mine/preferences",
        data={CSRF_FIELD: token_csrf, "token": token, "preferred_practitioner": "doctor1"},
    )
    assert wrong.status_code == 422
    assert 'id="pref-practitioner-error"' in wrong.text, text_of(wrong)
    left = await client.post("/waitlist/mine/leave", data={CSRF_FIELD: token_csrf, "token": token})
    assert left.status_code == 200
    assert "You have left the waitlist." in left.text
    assert (await client.get("/v1/waitlist/mine", params={"token": token})).json()[
        "status"
    ] == "withdrawn"


async def test_a_form_without_its_token_changes_nothing(client: httpx.AsyncClient) -> None:
    made = await join(client, person(1))
    refused = await client.post("/waitlist/mine/leave", data={"token": made["token"]})
    assert refused.status_code == 403
    mine = await client.get("/v1/waitlist/mine", params={"token": made["token"]})
    assert mine.json()["status"] == "waiting"


@pytest.mark.parametrize(
    "path",
    [
        "/waitlist/mine?token=" + "x" * 43,
        "/waitlist/mine?token=<script>",
        "/waitlist/mine",
        "/waitlist/invitations?token=" + "x" * 43,
        "/waitlist/offers?token=short",
        "/waitlist/t/" + "x" * 43,
    ],
)
async def test_unknown_links_answer_one_404_that_reveals_nothing(
    client: httpx.AsyncClient, path: str
) -> None:
    page = await client.get(path)
    assert page.status_code == 404
    assert "This link does not open anything" in page.text
    assert "<script>" not in page.text.split("<main", 1)[1]


async def test_every_link_in_every_waitlist_message_opens_a_page(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    for n in range(1, 4):
        await join(client, person(n))
        await join(client, person(n + 10, service="alternative_medicine"))
    await container.waitlist.launches.launch(ADMIN, "counseling")  # invitations
    booked = await client.post(
        "/v1/bookings",
        json={"service": "alternative_medicine", "visit_type": "initial", "duration": 20,
              "start": "2026-11-25T10:00:00-06:00", "practitioner": "doctor1",
              "patient": {"first_name": "Pat", "last_name": "Example",
                          "email": "pat@example.com"}},
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    desk = await staff_session(container, "desk", "front_desk")
    cancel = await client.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=desk)
    assert cancel.status_code == 200, cancel.text  # the freed slot is offered
    await container.bus.run_once()
    kinds = await open_every_link(client, container)  # while the invitations and offer are open
    [offer_token] = links_sent(container, "offers").values()
    claimed = await client.post(
        "/waitlist/offers/claim", data={CSRF_FIELD: await csrf(client), "token": offer_token}
    )
    assert claimed.status_code == 303, claimed.text
    assert "You are booked" in (await client.get(claimed.headers["location"])).text
    clock.advance(timedelta(days=30))
    assert await container.waitlist.nurture.send_due(clock.now()) >= 1  # nurture messages
    kinds |= await open_every_link(client, container, closed_ok=True)
    assert kinds == {"invitations", "offers", "t"}


async def open_every_link(
    client: httpx.AsyncClient, container: Container, *, closed_ok: bool = False
) -> set[str]:
    """Opens each waitlist link in the mailbox; the kinds of link found. Each answers 200
    and, unless `closed_ok` (a month later, when invitations and offers have lapsed), shows
    no problem."""
    kinds: set[str] = set()
    for message in mailbox(container):
        plain = [p for p in message.walk() if p.get_content_type() == "text/plain"]
        raw = plain[0].get_payload(decode=True) if plain else b""
        text = raw.decode() if isinstance(raw, bytes) else ""
        for url in LINK.findall(text):
            parts = urlsplit(url.rstrip(".,;)"))
            if not parts.path.startswith("/waitlist/"):
                continue
            kinds.add(parts.path.split("/")[2])
            page = await client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
            assert page.status_code == 200, (url, page.text[:500])
            if not closed_ok:
                assert 'class="problem"' not in page.text, url
            if parts.path.startswith("/waitlist/t/"):
                assert "in line for" in text_of(page)  # the standing, by the message's link
    return kinds
