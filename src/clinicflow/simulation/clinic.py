"""The clinic a simulation runs: the clinic's own file, with as many practitioners as asked
for, and the waitlisted service it launches made launchable.

- Services the file cannot book (anything TBD: weight loss in the shipped file) are left out
  of the simulated visits; `SimulatedClinic.left_out` says which and why.
- The first waitlisted service (counseling in the shipped file) is launched partway through
  the year. Its durations and prices are TBD in the seed, and a launch is refused without
  them, so the simulated clinic decides them: `LAUNCH_DURATIONS` and `LAUNCH_PRICES`
  (assumptions, not the clinic's decision; the file written says so).
- Practitioners: one for each simulated service first (so a small clinic still has every
  service), then the others in file order, `count` in all; when the file has too few,
  associates are added who offer alternative medicine on the first practitioner's hours.
  The others (a dietitian with only weight loss, an equine therapist) are left out, and the
  services' `calendars` lists keep only those kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LAUNCH_DURATIONS = {"initial": [50], "followup": [50]}
LAUNCH_PRICES = {"initial": 150, "followup": 120}
HEADER = (
    "# Written by `clinicflow simulate` from {source}: the clinic a simulated year ran in.\n"
    "# {launch} durations and prices are the simulation's assumption (TBD in the seed).\n"
)


@dataclass(frozen=True, slots=True)
class SimulatedClinic:
    path: Path
    services: tuple[str, ...]  # booked by the simulation from the first day
    launch: str | None  # the waitlisted service launched partway through
    waitlisted: tuple[str, ...]  # joined while not launched
    practitioners: tuple[str, ...]
    left_out: tuple[str, ...]  # "weight_loss: TBD in the clinic file", …


def _tbd(value: Any) -> bool:
    if isinstance(value, dict):
        return not value or any(_tbd(v) for v in value.values())
    if isinstance(value, list):
        return not value or any(_tbd(v) for v in value)
    return value is None or value == "TBD"


def _offers(key: str, person: dict[str, Any], services: dict[str, Any]) -> set[str]:
    own = set(person.get("services") or [])
    return own | {s for s, spec in services.items() if key in (spec.get("calendars") or [])}


def simulated_clinic(source: Path, count: int, target: Path) -> SimulatedClinic:
    doc: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    services: dict[str, Any] = doc["services"]
    bookable, left_out = [], []
    for key, spec in services.items():
        if not spec.get("active"):
            continue
        if _tbd(spec.get("durations")) or _tbd(spec.get("pricing")):
            left_out.append(f"{key}: durations or prices are TBD in {source.name}")
        else:
            bookable.append(key)
    waiting = [k for k, s in services.items() if not s.get("active") and s.get("waitlist")]
    launch = waiting[0] if waiting else None
    if launch is not None:
        spec = services[launch]
        if _tbd(spec.get("durations")) or _tbd(spec.get("pricing")):
            spec["durations"], spec["pricing"] = LAUNCH_DURATIONS, LAUNCH_PRICES
    simulated = [*bookable, *([launch] if launch else [])]
    people: dict[str, Any] = doc["practitioners"]
    offers = {
        key: _offers(key, person, services) & set(simulated) for key, person in people.items()
    }
    chosen: list[str] = []
    for service in simulated:  # one per service first
        first = next((k for k in people if service in offers[k] and k not in chosen), None)
        if first is not None:
            chosen.append(first)
    chosen += [k for k in people if offers[k] and k not in chosen]
    chosen = chosen[:count]
    kept = {k: people[k] for k in people if k in chosen}
    template = next(iter(kept.values()), None)
    for n in range(1, count - len(kept) + 1):
        hours = template["hours"] if template else {"mon": ["09:00-17:00"]}
        kept[f"associate{n}"] = {
            "name": f"Associate {n}",
            "title": "Simulated practitioner",
            "services": ["alternative_medicine"],
            "hours": hours,
        }
    doc["practitioners"] = kept
    for spec in services.values():
        if "calendars" in spec:
            spec["calendars"] = [k for k in spec["calendars"] if k in kept]
    if launch is not None and not any(launch in _offers(k, p, services) for k, p in kept.items()):
        left_out.append(f"{launch}: no practitioner offers it, so it is not launched")
        launch = None
    target.parent.mkdir(parents=True, exist_ok=True)
    header = HEADER.format(source=source, launch=(launch or "no service's").capitalize())
    target.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return SimulatedClinic(
        path=target,
        services=tuple(
            s for s in bookable if any(s in _offers(k, p, services) for k, p in kept.items())
        ),
        launch=launch,
        waitlisted=tuple(waiting),
        practitioners=tuple(kept),
        left_out=tuple(left_out),
    )
