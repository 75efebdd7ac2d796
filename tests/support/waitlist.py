"""Shared parts of the waitlist launch, offer and conversion tests: a clinic whose counseling
has durations and prices decided (and a counselor who works Mondays 10–12 only, so a wave's
capacity is easy to count), signed-in staff, tokens read from the emails the clinic sent,
and events read from the outbox."""

from __future__ import annotations

import email
import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from playwright.async_api import Page
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.outbox import outbox
from clinicflow.settings import Settings
from support.browser import assert_accessible

ROOT = Path(__file__).resolve().parents[2]
# The clock stands at Tuesday 2026-11-24 09:00 in the clinic. Counseling needs a day's notice
# and keeps 10 minutes after each 50-minute visit: Mondays 10:00 and 11:00 fit, so the next
# two weeks (30 Nov, 7 Dec) hold 4 initial visits.
MONDAY_10 = "2026-11-30T10:00:00-06:00"
MONDAY_11 = "2026-11-30T11:00:00-06:00"
NEXT_MONDAY_10 = "2026-12-07T10:00:00-06:00"
NEXT_MONDAY_11 = "2026-12-07T11:00:00-06:00"
PHI_WORDS = ("Halloway", "example.org", "+1512", "78701", "Wren")


def clinic_yaml(tmp_path: Path, *, tbd: bool = False) -> Path:
    """config/clinic.yaml with counseling's durations and prices given (or TBD)."""
    path = tmp_path / "clinic.yaml"
    path.write_text(_counseling_decided(tbd))
    return path


@functools.cache
def _counseling_decided(tbd: bool) -> str:
    """`clinic_yaml`'s text, made once per process (the YAML read and written again: ~25 ms
    of CPU a test)."""
    doc = yaml.safe_load((ROOT / "config" / "clinic.yaml").read_text())
    initial: Any = "TBD" if tbd else 50
    doc["services"]["counseling"].update(
        {
            "durations": {"initial": [initial], "followup": [50]},
            "pricing": {"initial": "TBD" if tbd else 150, "followup": 120},
        }
    )
    doc["practitioners"]["counselor1"]["hours"] = {"mon": ["10:00-12:00"]}
    return yaml.safe_dump(doc, sort_keys=False)


def launchable(settings: Settings, tmp_path: Path) -> Settings:
    """`settings` over `clinic_yaml`: counseling with its durations and prices decided, so
    an admin may launch it."""
    return settings.model_copy(update={"config_path": clinic_yaml(tmp_path)})


async def book_from_invitation(page: Page, url: str) -> datetime:
    """Opens an invitation's page (`url`, on the served site) in the browser and books its
    first open time: the confirmation shows, axe finds nothing serious on either page. The
    time booked."""
    await page.goto(url)
    await page.get_by_role("heading", name="Counseling: book your first visit").wait_for()
    await assert_accessible(page)
    slot = page.locator("form.week button[name=start]").first
    start = datetime.fromisoformat(str(await slot.get_attribute("value")))
    await slot.click()
    await page.wait_for_url(re.compile(r"/book/done/"))
    assert await page.get_by_role("heading", level=1).inner_text() == "You are booked"
    await assert_accessible(page)
    return start


def person(n: int, service: str = "counseling", **over: Any) -> dict[str, Any]:
    body = {
        "service": service,
        "first_name": f"Wren{n}",
        "last_name": "Halloway",
        "email": f"wren{n}@example.org",
        "interest_level": 3,
        "zip": "78701",
    }
    return body | over


async def join(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/v1/waitlist", json=body)
    assert resp.status_code == 201, resp.text
    made: dict[str, Any] = resp.json()
    return made


def mailbox(container: Container) -> list[email.message.Message]:
    folder = container.settings.data_dir / "mailbox"
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def links_sent(container: Container, kind: str) -> dict[str, str]:
    """Recipient → the latest token of that kind of link (invitations, offers, t)."""
    pattern = re.compile(rf"/waitlist/{kind}(?:\?token=|/)([A-Za-z0-9_-]+)")
    found: dict[str, str] = {}
    for message in mailbox(container):
        # Booking messages land in the same mailbox: their text is one part of several.
        texts = [p for p in message.walk() if p.get_content_type() == "text/plain"]
        body = texts[0].get_payload(decode=True) if texts else b""
        assert isinstance(body, bytes)
        match = pattern.search(body.decode())
        if match:
            found[str(message["To"])] = match.group(1)
    return found


async def events(container: Container, type_: str) -> list[dict[str, Any]]:
    async with container.db.read() as conn:
        query = select(outbox.c.payload).where(outbox.c.type == type_).order_by(outbox.c.id)
        return [dict(p) for p in (await conn.execute(query)).scalars()]


async def all_waitlist_payloads(container: Container) -> str:
    async with container.db.read() as conn:
        query = select(outbox.c.type, outbox.c.payload).where(
            outbox.c.type.like("waitlist.%") | outbox.c.type.like("service.%")
        )
        return repr((await conn.execute(query)).all())
