"""The analytics benchmark's figures (benchmarks/analytics.py) and their report: per question
DuckDB's and PostgreSQL's best seconds, rows and agreement, and the totals of a round.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Figures:
    scale: str
    visits: int
    events: int
    files: int
    duckdb: dict[str, float] = field(default_factory=dict)  # best seconds per question
    duckdb_rows: dict[str, int] = field(default_factory=dict)
    duckdb_total: float = 0.0  # best total of one round, as the app asks (DuckDbMetrics)
    duckdb_fresh_total: float = 0.0  # the same, a new connection and derived views a question
    postgres: dict[str, float] = field(default_factory=dict)
    postgres_rows: dict[str, int] = field(default_factory=dict)
    postgres_matches: dict[str, bool] = field(default_factory=dict)
    load_seconds: float = 0.0


def report(f: Figures, repeat: int, out: list[str]) -> None:
    out.append(
        f"{f.scale}: {f.visits:,} visits, {f.events:,} lake rows in {f.files} Parquet files;"
        f" best of {repeat}"
    )
    out.append(f"  {'question':<26} {'DuckDB s':>9} {'rows':>6} {'PostgreSQL s':>13} {'same':>5}")
    for name, took in f.duckdb.items():
        pg = f.postgres.get(name)
        pg_text = f"{pg:13.3f}" if pg is not None else f"{'-':>13}"
        matched = f.postgres_matches.get(name)
        same = "" if matched is None else ("yes" if matched else "NO")
        out.append(f"  {name:<26} {took:9.3f} {f.duckdb_rows[name]:6d} {pg_text} {same:>5}")
    pg_total = sum(f.postgres.values())
    duck_same = sum(f.duckdb[m] for m in f.postgres)
    out.append(
        f"  all {len(f.duckdb)} questions with DuckDB, one round: {f.duckdb_total:.3f} s "
        f"(derived tables kept for the snapshot; a new connection a question: "
        f"{f.duckdb_fresh_total:.3f} s)"
    )
    if f.postgres:
        out.append(
            f"  the {len(f.postgres)} translated ones: DuckDB {duck_same:.3f} s,"
            f" PostgreSQL {pg_total:.3f} s (loading it: {f.load_seconds:.1f} s)"
        )
