"""February 2027 at the clinic, planted through the real use cases with figures known in
advance (tests/integration/test_analytics_metrics.py asserts each metric gives exactly them):

* gaps_coach's week of 1 February: 1,710 working minutes, 710 of them busy in her Outlook
  (the calendars store), so 1,000 offered; twelve 60-minute initial visits (P1–P12, P12's a
  no-show) book 720 of them: 72%.
* P1–P3 then see doctor1 (alternative medicine, 8 February); P13–P20 see doctor1 on 9 and 10
  February (P19 and P20 do not come); P13 books a follow-up for 9 March. 20 patients with a
  visit in February, 3 of them in two services.
* P19 and P20 each book 18 February and cancel: P19 weeks ahead, P20 18 hours before (late).
* The front desk takes payment at the desk for P1–P4 (gaps, $195 each) and P13–P15 (alt.
  medicine, $119 each), and refunds $50 of P1's.
* P13 and P14 were registered first with a Chicago address (ZIP 60614) and a campaign referral.
* Three people join the counseling waitlist; the booking page's availability is read 4 times
  for gaps coaching on 27 February, anonymously.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from clinicflow.bootstrap import Container
from clinicflow.calendars.domain.busy import ShowAs
from clinicflow.shared.clock import FixedClock
from support.app import PASSWORD
from support.calendar_feeds import BoardFeed

TZ = "-06:00"
GAPS = {"service": "gaps_coaching", "visit_type": "initial", "duration": 60}
ALT = {"service": "alternative_medicine", "visit_type": "initial", "duration": 20}
ALT_FOLLOWUP = {"service": "alternative_medicine", "visit_type": "followup", "duration": 15}
GAPS_VISITS = (  # P1..P12
    "2027-02-02T11:00",
    "2027-02-02T12:10",
    "2027-02-02T14:30",
    "2027-02-02T15:40",
    "2027-02-02T16:50",
    "2027-02-02T18:00",
    "2027-02-03T13:00",
    "2027-02-03T14:10",
    "2027-02-03T15:20",
    "2027-02-05T10:50",
    "2027-02-05T13:00",
    "2027-02-05T14:10",
)
ALT_VISITS = {  # patient -> start, with doctor1
    1: "2027-02-08T09:00",
    2: "2027-02-08T09:30",
    3: "2027-02-08T10:00",
    13: "2027-02-09T09:00",
    14: "2027-02-09T09:30",
    15: "2027-02-09T10:00",
    16: "2027-02-09T10:30",
    17: "2027-02-09T11:00",
    18: "2027-02-09T11:30",
    19: "2027-02-10T09:00",
    20: "2027-02-10T09:30",
}
# gaps_coach's Outlook: 710 minutes of her 1,710 that week
OUTLOOK_BUSY = (
    ("2027-02-01T09:00", "2027-02-01T12:00"),
    ("2027-02-01T13:00", "2027-02-01T17:00"),
    ("2027-02-03T09:00", "2027-02-03T12:00"),
    ("2027-02-05T09:00", "2027-02-05T10:50"),
)
NO_SHOWS = (12, 19, 20)
PLANTED_AT = datetime(2027, 1, 25, 15, 0, tzinfo=UTC)  # Monday 09:00 at the clinic
ACTED_AT = datetime(2027, 2, 27, 18, 0, tzinfo=UTC)  # Saturday noon


def at(local: str) -> datetime:
    return datetime.fromisoformat(local + TZ)


def outlook() -> BoardFeed:
    feed = BoardFeed("outlook", ("gaps_coach",))
    for n, (start, end) in enumerate(OUTLOOK_BUSY):
        feed.add("gaps_coach", f"busy-{n}", at(start), at(end), ShowAs.BUSY)
    return feed


def who(n: int) -> dict[str, str]:
    return {
        "first_name": f"Plant{n}",
        "last_name": "Example",
        "email": f"plant{n}@example.com",
        "phone": f"+1512556{n:04d}",
    }


@dataclass
class Month:
    visits: dict[tuple[int, str], str] = field(default_factory=dict)  # (patient, start) → id


async def plant(
    container: Container,
    clock: FixedClock,
    client: httpx.AsyncClient,
) -> Month:
    """The month planted (the clock left on 27 February 2027)."""
    month = Month()
    clock.set(PLANTED_AT)
    await container.calendars.service.sync_all(full=True)
    await container.identity.users.create("planter", "front_desk", PASSWORD)
    desk: dict[str, str] = {}

    async def signed_in() -> None:  # sessions end when the clock jumps: sign in again
        opened, _ = await container.identity.users.login("planter", PASSWORD, None)
        desk["Authorization"] = f"Bearer {opened.token}"

    await signed_in()

    async def call(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = await client.post(path, json=body or {}, headers=desk)
        assert resp.status_code in (200, 201), (path, resp.text)
        out: dict[str, Any] = resp.json()
        return out

    async def book(n: int, visit: dict[str, str], start: str, practitioner: str) -> str:
        body = {**visit, "start": start + TZ, "practitioner": practitioner, "patient": who(n)}
        made = await call("/v1/bookings", body)
        month.visits[(n, start)] = made["id"]
        return str(made["id"])

    for n in (13, 14):  # registered first: a Chicago ZIP and a campaign referral
        body = {
            **who(n),
            "address": {"line1": "1 Main St", "city": "Chicago", "state": "IL", "zip": "60614"},
            "referral": {"source": "campaign", "campaign": "spring-fair"},
        }
        await call("/v1/patients", body)
    for n, start in enumerate(GAPS_VISITS, 1):
        await book(n, GAPS, start, "gaps_coach")
    for n, start in ALT_VISITS.items():
        await book(n, ALT, start, "doctor1")
    await book(13, ALT_FOLLOWUP, "2027-03-09T09:00", "doctor1")
    early = await book(19, ALT, "2027-02-18T10:00", "doctor1")
    late = await book(20, ALT, "2027-02-18T09:00", "doctor1")
    await call(f"/v1/bookings/{early}/cancel", {"reason": "away"})
    clock.set(at("2027-02-17T15:00"))  # 18 hours before: late
    await signed_in()
    await call(f"/v1/bookings/{late}/cancel", {"reason": "work"})

    clock.set(ACTED_AT)
    await signed_in()
    for (n, start), booking_id in month.visits.items():
        if start.startswith(("2027-03", "2027-02-18")):
            continue  # not yet, or cancelled
        if (n == 12 and start in GAPS_VISITS) or (n in (19, 20) and start == ALT_VISITS[n]):
            await call(f"/v1/bookings/{booking_id}/no-show")
            continue
        await call(f"/v1/bookings/{booking_id}/check-in")
        await call(f"/v1/bookings/{booking_id}/complete")

    paid = {}
    for n, start in [*((n, GAPS_VISITS[n - 1]) for n in (1, 2, 3, 4))] + [
        (n, ALT_VISITS[n]) for n in (13, 14, 15)
    ]:
        body = {"booking_ids": [month.visits[(n, start)]], "method": "in_clinic", "tender": "cash"}
        made = await call("/v1/payments", body)
        paid[n] = made["id"]
    refund = {"amount_cents": 5000, "reason": "goodwill"}
    await call(f"/v1/payments/{paid[1]}/refunds", refund)

    for n in (1, 2, 3):
        resp = await client.post("/v1/waitlist", json=_waitlister(n))
        assert resp.status_code == 201, resp.text
    for _ in range(4):
        shown = await client.get(
            "/v1/availability?service=gaps_coaching&visit_type=initial&duration=60"
            "&start=2027-03-01&end=2027-03-02"
        )
        assert shown.status_code == 200, shown.text
    await container.bus.run_once()
    return month


def _waitlister(n: int) -> dict[str, Any]:
    return {
        "service": "counseling",
        "first_name": f"Wait{n}",
        "last_name": "Example",
        "email": f"wait{n}@example.org",
        "interest_level": 3,
        "zip": "78701",
    }
