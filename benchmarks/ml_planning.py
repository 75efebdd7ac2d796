"""Planning models benchmark (issue 19): how long the demand forecast, the waitlist-conversion
model and a schedule proposal take to train (or solve) on a simulated year.

Run from the repository root:

    PYTHONPATH=src:tests .venv/bin/python benchmarks/ml_planning.py               # simulate
    PYTHONPATH=src:tests .venv/bin/python benchmarks/ml_planning.py --folder DIR  # reuse

Set-up: `clinicflow simulate`'s engine (tests/support/simulation.py) for `--days` (365) with
`--practitioners` (3) at a quarter of the default demand and 30 counseling joins a week,
ending on 2026-11-07, into `--folder` (a temp folder unless given; an existing simulation
there is reused), then every event into the lake (the analytics writer). Each step is then
timed `--repeat` (3) times, best and median printed, with its metric:

1. demand: the lake read (DuckDB over the snapshot's files), the 8-week forecast, and the
   rolling-origin backtest (8 weekly origins) with statsforecast's AutoETS reference;
2. waitlist: the held-out evaluation (trains the logistic regression on the earlier 70%);
3. schedule: the CP-SAT proposal for next week (2 workers) and the greedy rule, in the
   clinic file's practitioners with GAPS and counseling shared by three of them
   (tests/support/planning.py `sharing_clinic`), 12 contracted hours a week, the forecast
   scaled so those services ask for 70%, 90% and 110% of the three's hours.

It prints; it never asserts on time. Other models (no-show, churn) may add their steps here.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from clinicflow.adapters.lake.iceberg import IcebergLake, open_catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.forecasting.demand.guard import PlanningGuard
from clinicflow.forecasting.demand.queries import LakeHistory
from clinicflow.forecasting.demand.service import DemandForecasts, read_visits
from clinicflow.forecasting.scheduling.domain.week import Rules
from clinicflow.forecasting.scheduling.service import ScheduleProposals
from clinicflow.forecasting.waitlist.domain.model import evaluate
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist import WaitlistPolicy

T = TypeVar("T")


def timed(label: str, repeat: int, work: Callable[[], T]) -> T:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    print(f"{label:<44} best {min(times):7.3f} s  median {statistics.median(times):7.3f} s")
    assert result is not None
    return result


def lake_files(lake: object) -> list[str]:
    from support.planning import PlanningLake

    assert isinstance(lake, PlanningLake)
    settings = lake.settings()
    iceberg = IcebergLake(
        functools.partial(
            open_catalog, settings.resolved_lake_catalog_url, settings.resolved_lake_warehouse
        )
    )
    return iceberg.data_files()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--practitioners", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()

    from support.planning import PlanningLake, sharing_clinic, simulated_lake
    from support.simulation import ENDS_AT

    folder = args.folder or Path(tempfile.mkdtemp(prefix="clinicflow-ml-"))
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "lake").exists():
        lake = PlanningLake(folder, load_catalog(folder / "simulated-clinic.yaml"), ())
        lake = replace(lake, files=tuple(lake_files(lake)))
        print(f"reusing the simulation in {folder}")
    else:
        started = time.perf_counter()
        lake = asyncio.run(simulated_lake(folder, args.days, args.practitioners, args.seed))
        print(f"simulated {args.days} days × {args.practitioners} practitioners in "
              f"{time.perf_counter() - started:.0f} s into {folder}")  # fmt: skip
    files = lake.data_files()
    clock = FixedClock(ENDS_AT)
    guard = PlanningGuard(trail=None)  # type: ignore[arg-type]  # the system is never refused
    demand = DemandForecasts(lake=lake, catalog=lake.catalog, clock=clock, guard=guard)

    visits = timed("lake read: bookings (DuckDB)", args.repeat, lambda: read_visits(lake))
    print(f"  {len(visits)} bookings in {len(files)} Parquet files")
    timed("demand: 8-week forecast by service", args.repeat,
          lambda: demand.predict(visits, "service", 8))  # fmt: skip
    timed("demand: 8-week forecast by practitioner", args.repeat,
          lambda: demand.predict(visits, "practitioner", 8))  # fmt: skip
    bt = timed("demand: backtest (8 origins, + AutoETS)", args.repeat,
               lambda: demand.backtest_of(visits))  # fmt: skip
    print(f"  MASE {bt.mase} (seasonal-naive {bt.naive_mase}, AutoETS {bt.ets_mase})")

    def invitations() -> list[object]:
        history = LakeHistory(files)
        try:
            return list(history.invitations())
        finally:
            history.close()

    rows = timed("waitlist: lake read (invitations)", args.repeat, invitations)
    ev = timed("waitlist: train + held-out evaluation", args.repeat,
               lambda: evaluate(rows, clock.now(), WaitlistPolicy()))  # type: ignore[arg-type]  # fmt: skip
    print(f"  AUC {ev.auc:.3f} (priority score {ev.baseline_auc:.3f}), "
          f"{ev.trained} trained, {ev.tested} tested")  # fmt: skip

    proposals = ScheduleProposals(demand=demand, catalog=sharing_clinic(), guard=guard,
                                  rules=Rules(max_week_hours=12))  # fmt: skip
    week = proposals.week_of_demand(visits)
    shared = sum(m for (s, _), m in week.demand.items() if s != "alternative_medicine")
    for load in (0.7, 0.9, 1.1):
        scale = load * 3 * 12 * 60 / shared
        p = timed(f"schedule: CP-SAT + greedy, load {load:.0%}", args.repeat,
                  lambda scale=scale: proposals.proposal(visits, scale))  # fmt: skip
        print(f"  uplift {p.uplift:+.1%} over greedy ({p.served_visits} vs "
              f"{p.greedy_served_visits} visits), {p.status} in {p.seconds} s")  # fmt: skip


if __name__ == "__main__":
    main()
