"""The metrics' tables and charts on the owner's dashboard (`owner_metrics.py` asks, this
shapes): each answer of `AnalyticsReports` (docs/analytics.md "Metrics") as the rows a person
reads (the catalog's names, dollars, percentages) and the chart drawn from the same figures.
Nothing here computes a metric: a figure is the use case's, or a share of two of them (the
funnel's step rates, said so on the page). No answer names a patient, so nothing here can.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from clinicflow.analytics.views import Cell
from clinicflow.catalog import Catalog
from clinicflow.web.metric_figures import (
    Asked,
    Grid,
    GridCell,
    Record,
    by_label,
    cents,
    count,
    number,
    over_time,
    periods,
    rate,
)
from clinicflow.web.owner_dashboard import Chart, Table, service_name

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LEAD_TIMES = ("0-1d", "1-7d", "7-30d", "30d+")
LEAD_WORDS = {
    "0-1d": "Under a day",
    "1-7d": "1 to 7 days",
    "7-30d": "7 to 30 days",
    "30d+": "30 days or more",
}
SOURCES = {
    "waitlist": "Waitlist",
    "patient": "Another patient",
    "practitioner": "A practitioner",
    "campaign": "Campaign",
    "other": "Other",
    "unknown": "Not known",
    "": "Not known",
}
STEPS = ("viewed", "held", "booked", "paid", "attended")
STEP_WORDS = {
    "viewed": "Viewed times",
    "held": "Held a slot",
    "booked": "Booked",
    "paid": "Paid",
    "attended": "Attended",
}
# The funnel's step rates: (step, the step it is a share of)
STEP_RATES = (("held", "viewed"), ("booked", "held"), ("paid", "booked"), ("attended", "booked"))
SHADES = 5  # the cohort table's shading classes: shade-0 (under 20%) … shade-4 (80% and up)


# -- the metrics ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shaper:
    catalog: Catalog
    currency: str
    start: date
    end: date

    def periods(self, at: str) -> list[str]:
        return periods(at, self.start, self.end)

    def service(self, key: str) -> str:
        return service_name(self.catalog, key)

    def practitioner(self, key: str) -> str:
        found = self.catalog.practitioners.get(key)
        return found.name if found is not None else key

    def utilization(self, a: Asked) -> tuple[Table, Chart]:
        table = a.table(
            "utilization",
            "Utilization per practitioner and week: minutes booked (no-shows included) of the "
            "minutes offered (working hours less time off and busy time in other calendars)",
            ("Practitioner", "Week of", "Booked minutes", "Offered minutes", "Utilization"),
            lambda r: (self.practitioner(str(r["practitioner"])), str(r["week"]),
                       count(r["booked_min"]), count(r["offered_min"]), rate(r["utilization"])),
            "No practitioner offered time in these days.",
            numeric_from=2,
        )  # fmt: skip
        chart = over_time(
            "chart-utilization", a.records(), at="week", series="practitioner",
            value="utilization", name=self.practitioner, periods=self.periods("week"), scale=100,
            unit="%", missing=None,
        )  # fmt: skip
        return table, chart

    def revenue(self, a: Asked) -> tuple[Table, Chart]:
        table = a.table(
            "revenue",
            f"Revenue per service and month, net of refunds ({self.currency})",
            ("Service", "Month", "Paid", "Refunded", "Net", "Paid visits", "Net per visit"),
            lambda r: (self.service(str(r["service"] or "")), str(r["month"]), *_money(r)),
            "No payments or refunds in these days.",
            numeric_from=2,
        )
        chart = over_time(
            "chart-revenue-month", a.records(), at="month", series="service", value="net_cents",
            name=self.service, periods=self.periods("month"), scale=0.01, unit="$", bars=True,
        )  # fmt: skip
        return table, chart

    def revenue_total(self, a: Asked) -> Table:
        return a.table(
            "revenue-total",
            f"Revenue in these days and the average per paid visit ({self.currency})",
            ("", "Paid", "Refunded", "Net", "Paid visits", "Net per visit"),
            lambda r: ("All services", *_money(r)),
            "No payments or refunds in these days.",
            kept=lambda r: r["visits"] or r["gross_cents"] or r["refunded_cents"],
        )

    def acquisition(self, a: Asked) -> tuple[Table, Chart]:
        table = a.table(
            "acquisition",
            "New patients per week (their first visit ever), by how they came",
            ("Week of", "Source", "New patients"),
            lambda r: (str(r["week"]), SOURCES.get(str(r["source"]), str(r["source"])),
                       count(r["new_patients"])),
            "No new patients in these days.",
            numeric_from=2,
        )  # fmt: skip
        chart = over_time(
            "chart-acquisition", a.records(), at="week", series="source", value="new_patients",
            name=lambda k: SOURCES.get(k, k), periods=self.periods("week"), bars=True,
        )  # fmt: skip
        return table, chart

    def waitlist_growth(self, a: Asked) -> tuple[Table, Chart]:
        table = a.table(
            "waitlist-weeks",
            "People joining each waitlist per week, and what became of them so far",
            ("Service", "Week of", "Joined", "Withdrew", "Converted"),
            lambda r: (self.service(str(r["service"])), str(r["week"]), count(r["joined"]),
                       count(r["withdrawn"]), count(r["converted"])),
            "Nobody joined a waitlist in these days.",
            numeric_from=2,
        )  # fmt: skip
        chart = over_time(
            "chart-waitlist", a.records(), at="week", series="service", value="joined",
            name=self.service, periods=self.periods("week"),
        )  # fmt: skip
        return table, chart

    def waitlist_conversion(self, a: Asked) -> Table:
        return a.table(
            "waitlist-services",
            "Waitlist conversion per service: of those who joined in these days, how many "
            "booked from the list and came to a first visit",
            ("Service", "Joined", "Withdrew", "Converted", "First visits", "Conversion rate",
             "Average days to conversion"),
            lambda r: (self.service(str(r["service"])), count(r["joined"]),
                       count(r["withdrawn"]), count(r["converted"]), count(r["first_visits"]),
                       rate(r["conversion_rate"]), _days(r["avg_days_to_conversion"])),
            "Nobody joined a waitlist in these days.",
        )  # fmt: skip

    def cross_service(self, a: Asked) -> Table:
        return a.table(
            "cross-service",
            "Patients with a visit in these days, and those who used two or more services",
            ("", "Patients", "Two or more services", "Share"),
            lambda r: ("All services", count(r["patients"]), count(r["multi_service_patients"]),
                       rate(r["share"])),
            "No patient had a visit in these days.",
            kept=lambda r: r["patients"],
        )  # fmt: skip

    def transitions(self, a: Asked) -> Grid:
        rs = a.records()
        firsts = sorted({str(r["first_service"]) for r in rs}, key=self.service)
        seconds = sorted({str(r["second_service"] or "") for r in rs} - {""}, key=self.service)
        cells = {(str(r["first_service"]), str(r["second_service"] or "")): r for r in rs}
        rows = []
        for first in firsts:
            line = [GridCell(count(cells[first, s]["patients"]) if (first, s) in cells else "0")
                    for s in [*seconds, ""]]  # fmt: skip
            rows.append((self.service(first), line))
        return Grid(
            "cross-service-matrix",
            "From first service to second: patients by the service of their first visit (rows) "
            "and the next service they used (columns)",
            "First service",
            (*(self.service(s) for s in seconds), "No second service"),
            rows,
            "No patient had a visit in these days.",
            a.csv,
        )

    def churn(self, a: Asked) -> Table:
        return a.table(
            "churn",
            "Churn per service: patients seen in these days who have not come back, nor booked, "
            "within the service's window",
            ("Service", "Patients", "Churned", "Churn rate", "Window (days)"),
            lambda r: (self.service(str(r["service"])), count(r["patients"]),
                       count(r["churned"]), rate(r["churn_rate"]), count(r["window_days"])),
            "No patient attended a visit in these days.",
        )  # fmt: skip

    def rebook(self, a: Asked) -> Table:
        return a.table(
            "rebook",
            "Rebook rate per service: attended visits after which the patient had another visit "
            "booked by the end of that day",
            ("Service", "Attended visits", "Rebooked", "Rebook rate"),
            lambda r: (self.service(str(r["service"])), count(r["attended"]),
                       count(r["rebooked"]), rate(r["rebook_rate"])),
            "No visit was attended in these days.",
        )  # fmt: skip

    def cohorts(self, a: Asked) -> Grid:
        rs = a.records()
        months = sorted({int(number(r["months_after"])) for r in rs})
        cells = {(str(r["cohort_month"]), int(number(r["months_after"]))): r for r in rs}
        rows = []
        for cohort in sorted({str(r["cohort_month"]) for r in rs}):
            first = cells.get((cohort, 0))
            line = [GridCell(count(first["patients"]) if first is not None else "0")]
            for m in months:
                found = cells.get((cohort, m))
                if found is None:
                    line.append(GridCell("none"))
                    continue
                share = found["retention_rate"]
                level = min(SHADES - 1, int(number(share) * SHADES)) if share is not None else 0
                line.append(GridCell(rate(share), f"shade-{level}"))
            rows.append((cohort, line))
        return Grid(
            "retention-cohorts",
            "Retention by cohort: patients by the month of their first visit, and the share "
            "who came again so many months later (darker: more)",
            "First visit in",
            ("Patients", *(f"Month {m}" for m in months)),
            rows,
            "No patient had a first visit in these days.",
            a.csv,
        )

    def no_shows(self, a: Asked, by: str) -> tuple[Table, Chart | None]:
        heading, word, order = self._no_show_axis(by)
        rs = a.records()
        if order is not None:
            rs.sort(key=lambda r: order.index(str(r[by])) if str(r[by]) in order else len(order))
        table = Table(
            f"no-shows-{by.replace('_', '-')}",
            f"No-shows and late cancellations by {heading.lower()}, of the bookings starting in "
            "these days",
            (heading, "Bookings", "No-shows", "Late cancellations", "No-show rate",
             "Late-cancel rate"),
            [(word(str(r[by])), count(r["bookings"]), count(r["no_shows"]),
              count(r["late_cancels"]), rate(r["no_show_rate"]), rate(r["late_cancel_rate"]))
             for r in rs],
            "No bookings start in these days.",
            download=a.csv,
        )  # fmt: skip
        if order is None:
            return table, None
        lines = [
            (title, [round(number(r[key]) * 100, 2) for r in rs])
            for title, key in (("No-show rate", "no_show_rate"),
                               ("Late-cancel rate", "late_cancel_rate"))
        ]  # fmt: skip
        labels = [word(str(r[by])) for r in rs]
        return table, by_label(f"chart-no-shows-{by.replace('_', '-')}", labels, lines, "%")

    def _no_show_axis(self, by: str) -> tuple[str, Callable[[str], str], tuple[str, ...] | None]:
        if by == "weekday":
            return "Weekday", str, WEEKDAYS
        if by == "lead_time":
            return "Booked ahead", lambda k: LEAD_WORDS.get(k, k), LEAD_TIMES
        return "Service", self.service, None

    def geography(self, a: Asked, min_cell: int) -> Table:
        return a.table(
            "geography",
            f"Patients by the first three digits of their ZIP code ({self.currency}); areas "
            f"with fewer than {min_cell} patients are withheld",
            ("ZIP3", "Patients", "Visits", "Net revenue"),
            lambda r: ("Not known" if r["zip3"] == "unknown" else str(r["zip3"]),
                       count(r["patients"]), count(r["visits"]), cents(r["revenue_cents"])),
            "No patient had a visit in these days.",
        )  # fmt: skip

    def funnel(self, a: Asked) -> tuple[Table, Table, Chart]:
        rs = a.records()
        totals: Record = {s: sum(int(number(r[s])) for r in rs) for s in STEPS}
        named = [(self.service(str(r["service"])), r) for r in rs]
        if rs:
            named.append(("All services", totals))
        counts = Table(
            "funnel",
            "From seeing open times to attending: how many at each step, per service",
            ("Service", *(STEP_WORDS[s] for s in STEPS)),
            [(name, *(count(r[s]) for s in STEPS)) for name, r in named],
            "Nothing happened in these days.",
            download=a.csv,
        )
        rates = Table(
            "funnel-rates",
            "Each step as a share of the one before it (attended: of those booked)",
            ("Service", *(f"{STEP_WORDS[s]} of {STEP_WORDS[of].lower()}" for s, of in STEP_RATES)),
            [(name, *(_share(r[s], r[of]) for s, of in STEP_RATES)) for name, r in named],
            "Nothing happened in these days.",
            download=a.csv,
        )
        lines = [
            (name, [number(r[s]) for s in STEPS]) for name, r in named if name != "All services"
        ]
        chart = by_label("chart-funnel", [STEP_WORDS[s] for s in STEPS], lines, "")
        return counts, rates, chart


def _money(r: Record) -> tuple[str, ...]:
    """Paid, refunded, net, paid visits and the net per paid visit, in words."""
    per_visit = r["net_per_visit_cents"]
    return (
        cents(r["gross_cents"]),
        cents(r["refunded_cents"]),
        cents(r["net_cents"]),
        count(r["visits"]),
        "none" if per_visit is None else cents(per_visit),
    )


def _days(v: Cell) -> str:
    return "none" if v is None else f"{number(v):.1f}"


def _share(part: Cell, whole: Cell) -> str:
    base = number(whole)
    return "none" if base <= 0 else rate(number(part) / base)
