"""Issue 18's analytics benchmark: every metric over a synthetic lake, with DuckDB (the
app's engine, `analytics/queries.py` as it is), beside the same questions put to PostgreSQL
directly for the metrics whose SQL translates straight (benchmarks/README.md "analytics.py").

The lake: de-identified rows written straight into an Iceberg table through the adapter
(`IcebergLake`), not through the use cases: clinics of 8 practitioners over 2026, each
visit a booking made some days ahead (lead time ~ exponential, mean 9 days), on weekdays
more at the start of the week, 09:00-16:45 local, then attended (checked in, completed), a
no-show (likelier the longer the lead time) or cancelled (a third of those late); most
attended visits paid, a few refunds; some holds, waitlist joins and conversions. Patients
come back about five times a year; ZIP3, age band and referral source per patient. All of it
made by DuckDB from hashes of the row number: the same rows on every run.

Its parts beside it: analytics_lake.py (the data set), analytics_duckdb.py (the questions asked
of the app's engine), analytics_postgres.py (the translated ones put to PostgreSQL, checked
against DuckDB's answers), analytics_report.py (the figures and their report).

    .venv/bin/python benchmarks/analytics.py                      # a year, then 1M visits
    .venv/bin/python benchmarks/analytics.py --scales year --repeat 3 --no-postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

from analytics_duckdb import run_duckdb
from analytics_lake import build_lake
from analytics_postgres import ADMIN_DSN, database, run_postgres
from analytics_report import Figures, report

SCALES = {"year": (1, 20_000), "million": (50, 20_000)}  # clinics, visits per clinic


def measure(
    scales: Sequence[tuple[str, int, int]],
    work: Path,
    repeat: int,
    pg_dsn: str | None,
    out: list[str],
) -> list[Figures]:
    """Each scale (name, clinics, visits per clinic): the lake built, every question timed
    with DuckDB and, given a database, the translated ones with PostgreSQL."""
    found = []
    for name, clinics, per_clinic in scales:
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        lake = build_lake(clinics, per_clinic, folder)
        figures = Figures(name, lake.visits, lake.events, len(lake.files))
        duck = run_duckdb(lake, repeat, figures)
        if pg_dsn is not None:
            asyncio.run(run_postgres(pg_dsn, lake, repeat, figures, duck))
        report(figures, repeat, out)
        found.append(figures)
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="year,million", help="year, million (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--admin-dsn", default=ADMIN_DSN, help="PostgreSQL role that may create databases"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    scales = [(s, *SCALES[s]) for s in args.scales.split(",") if s]
    name = f"clinicflow_bench_analytics_{uuid.uuid4().hex[:8]}"
    dsn = None
    if not args.no_postgres:
        asyncio.run(database(args.admin_dsn, name, drop=False))
        dsn = args.admin_dsn.rsplit("/", 1)[0] + "/" + name
    out: list[str] = [f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            measure(scales, Path(tmp), args.repeat, dsn, out)
    finally:
        if dsn is not None:
            asyncio.run(database(args.admin_dsn, name, drop=True))
    out.append(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
