"""The metrics' figures as the owner's dashboard shows them (`metric_tables.py` shapes each
answer with these): an answer and its CSV (`Asked`), a two-way table (`Grid`), a cell's words
(counts, shares, dollars, "withheld" for a figure too small to show) and the charts' series
over weeks, months or named steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from clinicflow.analytics.views import Cell, Report
from clinicflow.web.owner_dashboard import Chart, Table, dollars

Record = dict[str, Cell]
WITHHELD = "withheld"


@dataclass(frozen=True, slots=True)
class Asked:
    """One answer, and the API's CSV of it (the link a browser follows)."""

    report: Report
    csv: str

    def records(self) -> list[Record]:
        names = [c.name for c in self.report.columns]
        return [dict(zip(names, row, strict=True)) for row in self.report.rows]

    def table(
        self,
        key: str,
        caption: str,
        header: tuple[str, ...],
        row: Callable[[Record], tuple[str, ...]],
        empty: str,
        *,
        numeric_from: int = 1,
        kept: Callable[[Record], object] | None = None,
    ) -> Table:
        """The answer as a table of one `row` per record (those `kept`), whose CSV is the
        API's of the same answer."""
        rows = [row(r) for r in self.records() if kept is None or kept(r)]
        return Table(key, caption, header, rows, empty, numeric_from, self.csv)


@dataclass(frozen=True, slots=True)
class GridCell:
    text: str
    shade: str = ""  # a CSS class (the cohort table's shading), or none


@dataclass(frozen=True, slots=True)
class Grid:
    """A two-way table (rows by columns), e.g. the transition matrix: its CSV is the API's
    long form of the same figures."""

    key: str
    caption: str
    corner: str  # the header over the rows' names
    header: tuple[str, ...]
    rows: list[tuple[str, list[GridCell]]]
    empty: str
    download: str


# -- formatting ----------------------------------------------------------------------------


def count(v: Cell) -> str:
    return WITHHELD if v is None else str(v)


def rate(v: Cell) -> str:
    if v is None:
        return "none"
    return f"{float(str(v)) * 100:.1f}%"


def cents(v: Cell) -> str:
    return WITHHELD if v is None else dollars(round(float(str(v))))


def number(v: Cell) -> float:
    return 0.0 if v is None else float(str(v))


def key_of(v: Cell) -> str:
    return "" if v is None else str(v)


def _noon(day: str) -> int:
    """A week's Monday (2027-02-01) or a month (2027-02) as UTC noon of its first day."""
    first = date.fromisoformat(day if len(day) > 7 else day + "-01")
    return int(datetime.combine(first, time(12), UTC).timestamp())


def over_time(
    chart_id: str,
    records: list[Record],
    *,
    at: str,
    series: str,
    value: str,
    name: Callable[[str], str],
    periods: list[str],
    scale: float = 1.0,
    unit: str = "",
    bars: bool = False,
    missing: float | None = 0.0,
) -> Chart:
    """One line (or bar) per `series` over `periods` (every week or month shown: a count
    missing from the answer is 0; a share, `missing=None`, is a gap)."""
    xs = sorted(set(periods) | {str(r[at]) for r in records})
    keys = sorted({key_of(r[series]) for r in records}, key=name)
    where = {x: i for i, x in enumerate(xs)}
    lines: list[tuple[str, list[float | None]]] = []
    for key in keys:
        values: list[float | None] = [missing] * len(xs)
        for r in records:
            if key_of(r[series]) == key and r[value] is not None:
                values[where[str(r[at])]] = round(number(r[value]) * scale, 2)
        lines.append((name(key), values))
    x = [_noon(p) for p in xs]
    return Chart(chart_id, "days", x, lines, unit=unit, bars=bars)


def periods(at: str, start: date, end: date) -> list[str]:
    """Every week (its Monday) or month (YYYY-MM) that `start`..`end` touches."""
    out: list[str] = []
    if at == "week":
        day = start - timedelta(days=start.weekday())
        while day <= end:
            out.append(day.isoformat())
            day += timedelta(days=7)
        return out
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def by_label(
    chart_id: str, labels: list[str], lines: Sequence[tuple[str, Sequence[float | None]]], unit: str
) -> Chart:
    return Chart(chart_id, "stages", list(range(len(labels))), list(lines), unit, labels=labels)
