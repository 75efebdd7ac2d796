"""The analytics benchmark's DuckDB part (benchmarks/analytics.py): every metric and view asked of
the app's engine (`analytics/queries.py` as it is), timed per question and per round.
"""

from __future__ import annotations

import time

from analytics_lake import YEAR, Lake
from analytics_report import Figures
from clinicflow.analytics.domain.metrics import Question, question
from clinicflow.analytics.queries import METRICS, DuckDbMetrics, answer

Answers = dict[str, list[tuple[object, ...]]]  # per question: its rows (and "#columns")


def questions() -> list[Question]:
    """Every metric and view, as the API asks them by default, over the whole year."""
    out = []
    for defined in METRICS.values():
        for view in defined.metric.views:
            out.append(question(defined.metric, *YEAR, None, {"view": view}))
    return out


def label(q: Question) -> str:
    return q.metric.name if q.view in ("table", "cohorts") else f"{q.metric.name} ({q.view})"


def run_duckdb(lake: Lake, repeat: int, figures: Figures) -> Answers:
    """Each round asks every question of a new `DuckDbMetrics` (as the app's engine: the
    derived tables built at the first question of the snapshot, then kept), timed per
    question and per round; then each round again with a new connection per question
    (`queries.answer`, the engine before it kept them), for the side-by-side total."""
    answers: Answers = {}
    totals = []
    for _ in range(repeat):
        engine = DuckDbMetrics()
        t_round = time.perf_counter()
        for q in questions():
            t0 = time.perf_counter()
            rows = engine._answer(q, lake.files, lake.inputs)
            took = time.perf_counter() - t0
            name = label(q)
            figures.duckdb[name] = min(figures.duckdb.get(name, took), took)
            figures.duckdb_rows[name] = len(rows)
            answers[name] = [tuple(r) for r in rows]
            names = [c.name for c in q.columns]
            answers[name + "#columns"] = [tuple(names)]
        totals.append(time.perf_counter() - t_round)
    figures.duckdb_total = min(totals)
    fresh = []
    for _ in range(repeat):
        t_round = time.perf_counter()
        for q in questions():
            answer(q, lake.files, lake.inputs)
        fresh.append(time.perf_counter() - t_round)
    figures.duckdb_fresh_total = min(fresh)
    return answers
