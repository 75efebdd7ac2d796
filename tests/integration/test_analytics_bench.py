"""The analytics benchmark (benchmarks/analytics.py and its analytics_*.py parts) run small,
so its wiring cannot rot: one clinic of 300 visits, one repeat, DuckDB and PostgreSQL. It
asserts on what the run counts (visits, lake rows, answers, agreement between the engines),
never on time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_the_benchmark_builds_a_lake_and_asks_every_metric_of_both_engines(
    pg_database_url: str, tmp_path: Path
) -> None:
    # The benchmark is a script, not a package; imported here, since its lake writer brings
    # pyiceberg, pyarrow and pandas (~0.5 s), and every xdist worker collects this module.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import analytics as bench
    from analytics_duckdb import label, questions
    from analytics_postgres import PG_SQL

    dsn = pg_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    lines: list[str] = []

    [f] = bench.measure([("tiny", 1, 300)], tmp_path, 1, dsn, lines)

    assert f.visits == 300
    # every visit is made (created), then attended (2 events), a no-show or cancelled (1)
    assert f.events >= 2 * 300
    assert f.files >= 12  # a Parquet file per month at least
    assert set(f.duckdb) == {label(q) for q in questions()}
    assert len(f.duckdb) == 11  # ten metrics, retention with two views
    assert f.duckdb_rows["cross-service"] == 1
    assert f.duckdb_rows["no-shows"] == 4  # one row per service
    assert set(f.postgres) == set(PG_SQL)
    assert f.postgres_matches == dict.fromkeys(PG_SQL, True)
    assert f.postgres_rows == {m: f.duckdb_rows[m] for m in PG_SQL}
    assert lines[0].startswith("tiny: 300 visits")
    assert any("PostgreSQL" in line for line in lines)
