"""Availability benchmark: every service × every practitioner × the data set's whole range.

Run from the repository root:

    python benchmarks/availability.py --data ../shared/bench/dataset.json --repeat 20

Prints the bookable starts per practitioner and the distinct start times for each service,
then the engine's time (the `find_slots` calls only, not loading or converting the data):
best and median of the repeats. It never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Runnable from a plain checkout too, where the package is not installed in the venv.
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "src"))

from clinicflow.booking.domain.availability import (
    Interval,
    PractitionerCalendar,
    Slot,
    SlotRules,
    find_slots,
)
from clinicflow.shared.hours import LocalInterval
from clinicflow.shared.minutes import to_minute

# The data set's naive times are UTC; "now" is fixed so the figures are reproducible.
TZ = ZoneInfo("UTC")
NOW = datetime(2026, 11, 24, tzinfo=UTC)


@dataclass(frozen=True)
class Service:
    name: str
    rules: SlotRules


@dataclass(frozen=True)
class Scenario:
    calendars: list[PractitionerCalendar]
    services: list[Service]
    window: Interval


def _minute(day: str, at: str) -> int:
    return to_minute(datetime.combine(date.fromisoformat(day), _clock(at), tzinfo=UTC))


def _clock(at: str) -> clock_time:
    return clock_time.fromisoformat(at)


def _calendars(data: dict[str, Any]) -> list[PractitionerCalendar]:
    weekly: dict[int, dict[int, list[LocalInterval]]] = {s["id"]: {} for s in data["staff"]}
    for row in data["working_hours"]:
        weekday = (row["dow_sun0"] - 1) % 7  # the data counts from Sunday, we from Monday
        hours = LocalInterval(_clock(row["start"]), _clock(row["end"]))
        weekly[row["staff"]].setdefault(weekday, []).append(hours)
    off: dict[int, dict[date, tuple[LocalInterval, ...]]] = {s["id"]: {} for s in data["staff"]}
    for row in data["days_off"]:
        day, last = date.fromisoformat(row["start"]), date.fromisoformat(row["end"])
        while day <= last:
            off[row["staff"]][day] = ()
            day += timedelta(days=1)
    busy: dict[int, list[Interval]] = {s["id"]: [] for s in data["staff"]}
    for row in [*data["time_off"], *data["appointments"]]:
        busy[row["staff"]].append(
            (_minute(row["date"], row["start"]), _minute(row["date"], row["end"]))
        )
    return [
        PractitionerCalendar(s["name"], weekly[s["id"]], off[s["id"]], busy[s["id"]])
        for s in data["staff"]
    ]


def load(path: Path) -> Scenario:
    data = json.loads(path.read_text())
    config = data["config"]
    anchor = to_minute(
        datetime.combine(date.fromisoformat(data["range"]["anchor"]), clock_time(), tzinfo=UTC)
    )
    window = (anchor, anchor + data["range"]["days"] * 24 * 60)
    services = [
        Service(
            s["name"],
            SlotRules(
                duration=s["minutes"],
                buffer_before=0,
                buffer_after=int(config["gap_min"]),
                step=int(config["slot_step_min"]),
                earliest_start=to_minute(NOW) + int(config["min_notice_min"]),
                latest_start=window[1],  # no maximum advance beyond the range
            ),
        )
        for s in data["services"]
    ]
    return Scenario(_calendars(data), services, window)


def run_all(scenario: Scenario) -> list[list[Slot]]:
    return [find_slots(scenario.calendars, s.rules, scenario.window, TZ) for s in scenario.services]


def report(scenario: Scenario, results: list[list[Slot]]) -> None:
    for service, slots in zip(scenario.services, results, strict=True):
        per_practitioner = Counter(key for slot in slots for key in slot.practitioners)
        print(f"{service.name} ({service.rules.duration} min)")
        for calendar in scenario.calendars:
            print(f"  {calendar.key:<10} {per_practitioner[calendar.key]:>6} bookable starts")
        print(f"  {'distinct':<10} {len(slots):>6} start times")


def time_it(scenario: Scenario, repeat: int) -> list[float]:
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        run_all(scenario)
        timings.append(time.perf_counter() - began)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/dataset.json"))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    scenario = load(args.data)
    report(scenario, run_all(scenario))
    timings = time_it(scenario, max(1, args.repeat))
    days = (scenario.window[1] - scenario.window[0]) // (24 * 60)
    print(
        f"{len(scenario.services)} services × {len(scenario.calendars)} practitioners × "
        f"{days} days, find_slots only: best {min(timings):.4f} s, "
        f"median {statistics.median(timings):.4f} s over {len(timings)} repeats"
    )


if __name__ == "__main__":
    main()
