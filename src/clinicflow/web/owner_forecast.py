"""The owner's demand forecast (`/owner/forecast`): the next 8 weeks' forecast visits per
service beside the hours the practitioners offer, the weeks where the forecast passes them
said in words ("Over capacity") as well as marked, as a chart (the vendored uPlot, drawn by
`static/owner.js` from a JSON data block: no inline script) and a table that works without
script, with its CSV (`/owner/forecast/demand.csv`). For analysts and admins (the owner
signs in as an admin), as `GET /v1/forecasts/demand`: `DemandForecasts` decides, through its
typed dependency; anyone else is told who may see it. Counts and hours only: no patient.
docs/ml-planning.md "Demand forecast".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from clinicflow.catalog import Catalog
from clinicflow.forecasting.demand.api import DemandDep
from clinicflow.forecasting.demand.errors import NotEnoughHistory
from clinicflow.forecasting.demand.views import DemandForecast, WeekDemand
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.web.owner_dashboard import Chart, Table, csv_download, service_name
from clinicflow.web.pages import FrameDep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

WEEKS = 8
CSV_PATH = "/owner/forecast/demand.csv"
OVER = "Over capacity"


def _noon(day: date) -> int:
    """A week's Monday as owner.js reads days: UTC noon (no viewer's zone moves it)."""
    return int(datetime.combine(day, time(12), UTC).timestamp())


def hours(minutes: float | None) -> str:
    return "" if minutes is None else f"{minutes / 60:.1f}"


def _visits(w: WeekDemand) -> str:
    return f"{w.visits:.1f} ({w.visits_lo:.1f}–{w.visits_hi:.1f})"


def _flag(w: WeekDemand) -> str:
    if not w.over_capacity:
        return "Within capacity"
    short = (w.demand_min or 0.0) - (w.capacity_min or 0)
    return f"{OVER}: {short / 60:.1f} hours short"


@dataclass(frozen=True, slots=True)
class DemandShown:
    forecast: DemandForecast
    catalog: Catalog

    def services(self) -> list[str]:
        keys = {w.key for w in self.forecast.weeks}
        return sorted(keys, key=lambda k: service_name(self.catalog, k))

    def weeks(self) -> list[date]:
        return sorted({w.week for w in self.forecast.weeks})

    def over(self) -> list[WeekDemand]:
        """The weeks where the forecast passes capacity, in order (the hiring signal)."""
        return sorted(
            (w for w in self.forecast.weeks if w.over_capacity),
            key=lambda w: (w.week, service_name(self.catalog, w.key)),
        )

    def name(self, key: str) -> str:
        return service_name(self.catalog, key)

    def table(self) -> Table:
        order = {k: i for i, k in enumerate(self.services())}
        rows = [
            (w.week.isoformat(), self.name(w.key), _visits(w), hours(w.demand_min),
             hours(w.capacity_min), _flag(w))
            for w in sorted(self.forecast.weeks, key=lambda w: (w.week, order[w.key]))
        ]  # fmt: skip
        return Table(
            "demand-forecast",
            f"Forecast visits and hours per service and week, beside the hours offered "
            f"(weeks from Monday; from the lake's visits up to {self.forecast.as_of.isoformat()})",
            ("Week of", "Service", "Visits (80% range)", "Forecast hours", "Hours offered",
             "Capacity"),
            rows,
            "No service has visits to forecast yet.",
            numeric_from=2,
            download=CSV_PATH,
        )  # fmt: skip

    def chart(self) -> Chart:
        weeks = self.weeks()
        at = {(w.key, w.week): w for w in self.forecast.weeks}
        series: list[tuple[str, list[float | None]]] = []
        for key in self.services():
            demand = [_hours_of(at.get((key, d)), True) for d in weeks]
            offered = [_hours_of(at.get((key, d)), False) for d in weeks]
            series += [(f"{self.name(key)}: forecast hours", demand),
                       (f"{self.name(key)}: hours offered", offered)]  # fmt: skip
        return Chart("chart-demand", "days", [_noon(d) for d in weeks], series)


def _hours_of(w: WeekDemand | None, demand: bool) -> float | None:
    if w is None:
        return None
    minutes = w.demand_min if demand else w.capacity_min
    return None if minutes is None else round(minutes / 60, 1)


@router.get("/owner/forecast")
async def forecast_page(page: FrameDep, demand: DemandDep) -> HTMLResponse:
    try:
        found = await demand.forecast(page.actor, "service", WEEKS)
    except (Forbidden, Unauthenticated):
        return page.render("owner/who.html", {})
    except NotEnoughHistory as exc:
        return page.render("owner/forecast.html", {"shown": None, "problem": str(exc)})
    shown = DemandShown(found, page.catalog)
    return page.render(
        "owner/forecast.html",
        {
            "shown": shown,
            "table": shown.table(),
            "chart": shown.chart(),
            "over": shown.over(),
            "last_week": shown.weeks()[-1] + timedelta(days=6) if shown.weeks() else None,
        },
    )


@router.get(CSV_PATH, response_model=None)
async def forecast_csv(page: FrameDep, demand: DemandDep) -> Response:
    """The table as CSV, the same rows as the page."""
    try:
        found = await demand.forecast(page.actor, "service", WEEKS)
    except (Forbidden, Unauthenticated):
        return page.render("owner/who.html", {}, status=403)
    except NotEnoughHistory as exc:
        said = {"title": "Not enough history", "detail": f"{exc}: no forecast yet"}
        return page.render("problem.html", said, status=409)
    table = DemandShown(found, page.catalog).table()
    name = f"clinicflow-{table.key}-{found.as_of.isoformat()}.csv"
    return csv_download(table.csv(), name)
