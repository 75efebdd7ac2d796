"""The distinct free slots the booking scenario posts, once each (for http_load.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from load_common import ROOT

# --- distinct slots to book ---------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """What one practitioner is booked for in the run: the shortest visit of a service."""

    service: str
    visit_type: str
    duration: int
    practitioner: str
    buffer_before: int
    buffer_after: int

    def booking(self, start: datetime, patient: Mapping[str, str]) -> dict[str, object]:
        """The body of `POST /v1/bookings` for this visit at `start`, for `patient`."""
        return {
            "service": self.service,
            "visit_type": self.visit_type,
            "duration": self.duration,
            "start": start.isoformat(),
            "practitioner": self.practitioner,
            "patient": dict(patient),
        }


def pick_distinct(starts: Sequence[datetime], offer: Offer) -> list[datetime]:
    """Starts whose occupied blocks (buffers included) do not overlap one another, greedily
    from the earliest: every one of them can be booked in the same run."""
    chosen: list[datetime] = []
    free_from: datetime | None = None
    before = timedelta(minutes=offer.buffer_before)
    length = timedelta(minutes=offer.duration + offer.buffer_after)
    for start in sorted(starts):
        if free_from is None or start - before >= free_from:
            chosen.append(start)
            free_from = start + length
    return chosen


def booking_bodies(plan: Mapping[Offer, Sequence[datetime]], run_id: str) -> list[str]:
    """One JSON body per slot, a new patient each (an anonymous booking page), interleaved
    across practitioners so concurrent requests spread over their calendars."""
    queues = [
        [(offer, start) for start in starts] for offer, starts in plan.items() if len(starts) > 0
    ]
    bodies: list[str] = []
    depth = max((len(q) for q in queues), default=0)
    for i in range(depth):
        for queue in queues:
            if i < len(queue):
                offer, start = queue[i]
                n = len(bodies)
                patient = {
                    "first_name": "Bench",
                    "last_name": f"Patient {n}",
                    "email": f"bench-{run_id}-{n}@example.com",
                }
                body = offer.booking(start, patient)
                bodies.append(json.dumps(body, separators=(",", ":")))
    return bodies


def offers(config_path: Path) -> list[Offer]:
    """Each practitioner once, for the first bookable service offering them, with that
    service's shortest visit (the most distinct slots per day)."""
    sys.path.insert(1, str(ROOT / "src"))
    from clinicflow.catalog.service import load_catalog

    catalog = load_catalog(config_path)
    found: dict[str, Offer] = {}
    for service in catalog.services.values():
        if not service.bookable:
            continue
        duration, visit_type = min(
            (d, vt.key) for vt in service.visit_types.values() for d in vt.durations or ()
        )
        for key in service.calendars:
            found.setdefault(
                key,
                Offer(
                    service.key,
                    visit_type,
                    duration,
                    key,
                    service.policy.buffer_before_min,
                    service.policy.buffer_after_min,
                ),
            )
    return list(found.values())


def free_slots(
    base: str, offer_list: Sequence[Offer], today: date, days: int
) -> dict[Offer, list[datetime]]:
    """Every practitioner's distinct bookable starts from tomorrow on, from the API itself."""
    import httpx

    plan: dict[Offer, list[datetime]] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for offer in offer_list:
            response = client.get(
                "/v1/availability",
                params={
                    "service": offer.service,
                    "visit_type": offer.visit_type,
                    "duration": offer.duration,
                    "practitioner": offer.practitioner,
                    "start": (today + timedelta(days=1)).isoformat(),
                    "end": (today + timedelta(days=days)).isoformat(),
                },
            )
            response.raise_for_status()
            starts = [datetime.fromisoformat(s["start"]) for s in response.json()["slots"]]
            plan[offer] = pick_distinct(starts, offer)
    return plan
