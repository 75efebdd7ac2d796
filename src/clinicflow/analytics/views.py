"""What the analytics use cases answer: a metric's table, typed column by column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

Cell = str | int | float | date | None


@dataclass(frozen=True, slots=True)
class ReportColumn:
    name: str
    type: str  # text | int | rate | number | date


@dataclass(frozen=True, slots=True)
class Report:
    metric: str
    view: str
    start: date
    end: date
    group_by: tuple[str, ...]
    columns: tuple[ReportColumn, ...]
    rows: tuple[tuple[Cell, ...], ...]
    suppressed: int = 0  # cells withheld as too small to show (docs/analytics.md)
