"""The owner's dashboard (`/owner`): the figures that exist today, as charts and as tables
(the table is each chart's accessible version), each table also a CSV download.

- revenue per service and per day, from the payments ledger (`RevenueReader`: admins,
  billing staff and analysts);
- the waitlists' size, weekly growth and conversion funnel (`WaitlistStats`: admins, front
  desk and analysts).

Both use cases decide who may see what, as they do for the API: a section the caller's role
may not see says who may, and a caller who may see neither gets a page saying who may, with
the way to the staff sign-in. Every figure is a sum or a count: no patient appears here.
Charts are drawn by `static/owner.js` with the vendored uPlot, from JSON data blocks (which a
browser never executes, so the CSP needs no 'unsafe-inline').
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from clinicflow.catalog import Catalog
from clinicflow.infra.web import ClockDep
from clinicflow.payments.ledger.api import RevenueDep
from clinicflow.payments.ledger.views import RevenueRow
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.waitlist.domain.stats import ServiceStats
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.stats.views import StatsView
from clinicflow.web.pages import Frame, FrameDep, money

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

RANGES = (30, 90)  # the date range picker's choices, in days
DEFAULT_RANGE = 30
STAGES = ("notified", "clicked", "booked", "paid")
STAGE_WORDS = {
    "notified": "Invited",
    "clicked": "Opened the link",
    "booked": "Booked",
    "paid": "Paid",
}
NO_SERVICE = "Packages and other"  # ledger entries without a service (package purchases)


# -- the figures, as tables and chart data ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Table:
    """One table: its rows as text, the same in the page and in its CSV."""

    key: str  # the CSV's name: /owner/<key>.csv
    caption: str
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    empty: str  # said instead of the table when it has no rows
    numeric_from: int = 1  # columns from this one are numbers (right-aligned)
    download: str = ""  # the CSV's URL when not /owner/<key>.csv (the metrics: the API's)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue()


@dataclass(frozen=True, slots=True)
class Chart:
    """What owner.js draws: one line per series over `x` (UTC noon of each day, or the
    index of a stage named in `labels`)."""

    id: str
    kind: str  # "days" | "stages"
    x: list[int]
    series: Sequence[tuple[str, Sequence[float | None]]]  # None: no figure there (a gap)
    unit: str = ""  # "$" for money, "%" for shares
    labels: list[str] = field(default_factory=list)
    bars: bool = False  # bars (sparse daily sums) rather than lines

    @property
    def drawn(self) -> bool:
        """Whether there is anything to draw (lines flat at zero say nothing)."""
        return bool(self.x) and any(v for _, values in self.series for v in values)

    def data(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "x": self.x,
            "unit": self.unit,
            "labels": self.labels,
            "bars": self.bars,
            "series": [{"label": name, "values": list(values)} for name, values in self.series],
        }


def dollars(cents: int) -> str:
    """Plain decimal dollars, as a spreadsheet reads them (the page shows them the same)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def percent(share: float | None) -> str:
    return "none yet" if share is None else f"{share * 100:.0f}%"


def _noon(day: date) -> int:
    return int(datetime.combine(day, time(12), UTC).timestamp())


def service_name(catalog: Catalog, key: str) -> str:
    if not key:
        return NO_SERVICE
    found = catalog.services.get(key)
    return found.name if found is not None else key


@dataclass(frozen=True, slots=True)
class Revenue:
    first: date
    last: date
    rows: list[RevenueRow]
    catalog: Catalog
    currency: str

    def _services(self) -> list[str]:
        return sorted({r.service for r in self.rows}, key=lambda k: service_name(self.catalog, k))

    def by_service(self) -> Table:
        sums: dict[str, list[int]] = {}
        for r in self.rows:
            bucket = sums.setdefault(r.service, [0, 0, 0])
            bucket[0] += r.charged_cents
            bucket[1] += r.refunded_cents
            bucket[2] += r.adjusted_cents
        rows = [(service_name(self.catalog, k), *_money_cells(*sums[k])) for k in self._services()]
        if rows:
            total = [sum(v[i] for v in sums.values()) for i in range(3)]
            rows.append(("All services", *_money_cells(*total)))
        return Table(
            "revenue-by-service",
            f"Revenue by service, {self.first.isoformat()} to {self.last.isoformat()} "
            f"({self.currency})",
            ("Service", "Charged", "Refunded", "Adjusted", "Net"),
            rows,
            "No payments or refunds in these days.",
        )

    def by_day(self) -> Table:
        rows = [
            (r.day, service_name(self.catalog, r.service),
             *_money_cells(r.charged_cents, r.refunded_cents, r.adjusted_cents))
            for r in self.rows
        ]  # fmt: skip
        return Table(
            "revenue-by-day",
            f"Revenue by day and service ({self.currency}, days in the clinic's time zone)",
            ("Day", "Service", "Charged", "Refunded", "Adjusted", "Net"),
            rows,
            "No payments or refunds in these days.",
            numeric_from=2,
        )

    def chart(self) -> Chart:
        days = [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]
        index = {d.isoformat(): i for i, d in enumerate(days)}
        series = []
        for key in self._services():
            values = [0.0] * len(days)
            for r in self.rows:
                if r.service == key and r.day in index:
                    values[index[r.day]] += r.net_cents / 100
            series.append((service_name(self.catalog, key), values))
        return Chart("chart-revenue", "days", [_noon(d) for d in days], series, unit="$", bars=True)


def _money_cells(charged: int, refunded: int, adjusted: int) -> tuple[str, ...]:
    net = charged - refunded + adjusted
    return dollars(charged), dollars(refunded), dollars(adjusted), dollars(net)


@dataclass(frozen=True, slots=True)
class Waitlists:
    view: StatsView
    catalog: Catalog

    def services(self) -> list[ServiceStats]:
        """The services with a waitlist, or with entries on one (a service since launched)."""
        shown = []
        for s in self.view.services:
            configured = self.catalog.services.get(s.service)
            has_list = configured is not None and configured.waitlist
            if has_list or sum(s.by_state.values()) > 0:
                shown.append(s)
        return shown

    def name(self, s: ServiceStats) -> str:
        return service_name(self.catalog, s.service)

    def size(self) -> Table:
        rows: list[tuple[str, ...]] = [
            (self.name(s), str(s.size), str(s.waiting), str(s.by_state.get("invited", 0)),
             str(s.by_state.get("offered", 0)), str(s.by_state.get("booked", 0)),
             str(s.by_state.get("converted", 0)), str(s.by_state.get("withdrawn", 0)))
            for s in self.services()
        ]  # fmt: skip
        return Table(
            "waitlist-size",
            "Waitlist size by service, today",
            ("Service", "On the list", "Waiting", "Invited", "Offered", "Booked", "Converted",
             "Withdrawn"),
            rows,
            "No service has a waitlist.",
        )  # fmt: skip

    def growth(self) -> Table:
        services = self.services()
        weeks = services[0].growth if services else []
        rows = []
        for i, week in enumerate(weeks):
            joins = [s.growth[i].joins for s in services]
            rows.append((week.starts.isoformat(), *(str(n) for n in joins), str(sum(joins))))
        return Table(
            "waitlist-growth",
            "People joining each waitlist, week by week (weeks start on Monday)",
            ("Week of", *(self.name(s) for s in services), "All waitlists"),
            rows,
            "No service has a waitlist.",
        )

    def growth_chart(self) -> Chart:
        services = self.services()
        weeks = services[0].growth if services else []
        series = [(self.name(s), [float(w.joins) for w in s.growth]) for s in services]
        return Chart("chart-growth", "days", [_noon(w.starts) for w in weeks], series)

    def conversion(self) -> Table:
        rows = [
            (self.name(s), *(str(s.funnel.counts[stage]) for stage in STAGES),
             percent(s.conversion_rate) + _basis(s.conversion_rate_basis),
             "none yet" if s.conversion_potential is None else f"{s.conversion_potential:.1f}")
            for s in self.services()
        ]  # fmt: skip
        return Table(
            "waitlist-conversion",
            "Waitlist conversion by service: how many reached each step, and the share of "
            "those invited who booked",
            ("Service", *(STAGE_WORDS[s] for s in STAGES), "Conversion rate",
             "Expected bookings from those waiting"),
            rows,
            "No service has a waitlist.",
        )  # fmt: skip

    def conversion_chart(self) -> Chart:
        series = [
            (self.name(s), [float(s.funnel.counts[stage]) for stage in STAGES])
            for s in self.services()
        ]
        labels = [STAGE_WORDS[s] for s in STAGES]
        return Chart("chart-conversion", "stages", list(range(len(STAGES))), series, labels=labels)


def _basis(basis: str | None) -> str:
    return " (the clinic's, across services)" if basis == "clinic" else ""


# -- reading the figures through the use cases ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    days: int
    revenue: Revenue | None  # None: the caller's role may not see revenue
    waitlists: Waitlists | None  # None: nor waitlist statistics

    def tables(self) -> dict[str, Table]:
        found: list[Table] = []
        if self.revenue is not None:
            found += [self.revenue.by_service(), self.revenue.by_day()]
        if self.waitlists is not None:
            w = self.waitlists
            found += [w.size(), w.growth(), w.conversion()]
        return {t.key: t for t in found}


def range_days(given: str) -> int:
    """The picker's range; anything else (a hand-edited URL) is the default."""
    return int(given) if given in {str(n) for n in RANGES} else DEFAULT_RANGE


async def figures(
    page: Frame, revenue: RevenueDep, waitlist: WaitlistDep, now: datetime, days: int
) -> Figures:
    """Each part the caller's role may see, over the last `days` days up to today."""
    tz = page.clinic_tz
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    lo = datetime.combine(first, time(), tz)
    hi = datetime.combine(today + timedelta(days=1), time(), tz)
    money_part: Revenue | None = None
    lists_part: Waitlists | None = None
    try:
        rows = await revenue.revenue(page.actor, lo, hi)
        money_part = Revenue(first, today, rows, page.catalog, page.catalog.clinic.currency)
    except (Forbidden, Unauthenticated):
        pass
    try:
        view = await waitlist.stats.stats(page.actor, None, math.ceil(days / 7))
        lists_part = Waitlists(view, page.catalog)
    except (Forbidden, Unauthenticated):
        pass
    return Figures(days, money_part, lists_part)


async def shown_figures(
    page: FrameDep,
    revenue: RevenueDep,
    waitlist: WaitlistDep,
    clock: ClockDep,
    days: str = str(DEFAULT_RANGE),
) -> Figures:
    """The figures of the range picked (`?days=`), for the page and its downloads alike."""
    return await figures(page, revenue, waitlist, clock.now(), range_days(days))


FiguresDep = Annotated[Figures, Depends(shown_figures)]


def _who(page: Frame, status: int = 200) -> HTMLResponse:
    """Who may see the dashboard, for a caller who may see none of it."""
    return page.render("owner/who.html", {}, status=status)


# -- the routes ----------------------------------------------------------------------------


@router.get("/owner")
async def dashboard(page: FrameDep, found: FiguresDep) -> HTMLResponse:
    if found.revenue is None and found.waitlists is None:
        return _who(page)
    charts: list[Chart] = []
    if found.revenue is not None:
        charts.append(found.revenue.chart())
    if found.waitlists is not None:
        charts += [found.waitlists.growth_chart(), found.waitlists.conversion_chart()]
    return page.render(
        "owner/dashboard.html",
        {
            "figures": found,
            "tables": found.tables(),
            "charts": {c.id: c for c in charts},
            "ranges": RANGES,
            "total_net": _total_net(found),
        },
    )


def _total_net(found: Figures) -> str | None:
    if found.revenue is None:
        return None
    return money(sum(r.net_cents for r in found.revenue.rows), found.revenue.currency)


@router.get("/owner/{table}.csv", response_model=None)
async def download(table: str, page: FrameDep, found: FiguresDep, clock: ClockDep) -> Response:
    """One table as CSV, with the same rows as the page shows: sums and counts only."""
    if found.revenue is None and found.waitlists is None:
        return _who(page, 403)
    chosen = found.tables().get(table)
    if chosen is None:
        detail = "there is no such table on the dashboard, or your role may not download it"
        return page.render("problem.html", {"title": "Not found", "detail": detail}, status=404)
    today = clock.now().astimezone(page.clinic_tz).date().isoformat()
    name = f"clinicflow-{chosen.key}-{today}.csv"
    return csv_download(chosen.csv(), name)


def csv_download(text: str, name: str) -> Response:
    """A table as a CSV file to save (never cached: the figures are the clinic's)."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
