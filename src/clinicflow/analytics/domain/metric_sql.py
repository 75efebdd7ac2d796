# ruff: noqa: S608 - SQL built from this module's own fragments; values are bound
"""How a metric's definition is written (the families' `queries.py`: `visits/`, `revenue/`,
`patients/`): its views with their columns, and per view a function from a checked question
to its SQL, most of them the common shape `aggregate` builds. Pure text: the read model
(`analytics/queries.py`) runs it, over the views it derives from the lake.

Dimensions come only from a view's definition (never from the caller's text), and the
period (`PERIOD`: `$lo`, `$hi`) is bound, so no question can change the SQL's shape otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from clinicflow.analytics.domain.metrics import (
    ATTENDED,
    BOOKED,
    Column,
    Kind,
    Metric,
    Question,
    View,
)

Sql = Callable[[Question], str]
PERIOD = "BETWEEN $lo AND $hi"
BOOKED_SQL = ", ".join(f"'{s}'" for s in BOOKED)  # for `status IN (...)`
ATTENDED_SQL = ", ".join(f"'{s}'" for s in ATTENDED)


def cols(dims: Sequence[str]) -> str:
    return "".join(f"{d}, " for d in dims)


def group(dims: Sequence[str]) -> str:
    return f"GROUP BY {', '.join(dims)}" if dims else ""


def order(dims: Sequence[str]) -> str:
    return f"ORDER BY {', '.join(f'{d} NULLS LAST' for d in dims)}" if dims else ""


def aggregate(facts: str, measures: str) -> Sql:
    """`SELECT dims, measures FROM (facts) GROUP BY dims`: the common shape."""

    def sql(q: Question) -> str:
        d = q.group_by
        body = f"SELECT {cols(d)}{measures} FROM facts {group(d)} {order(d)}"
        return f"WITH facts AS ({facts}) {body}"

    return sql


def column(name: str, kind: Kind = Kind.INT) -> Column:
    return Column(name, kind)


SERVICE, PRACTITIONER = column("service", Kind.TEXT), column("practitioner", Kind.TEXT)
WEEK, MONTH = column("week", Kind.DATE), column("month", Kind.TEXT)


@dataclass(frozen=True, slots=True)
class Defined:
    metric: Metric
    sql: Mapping[str, Sql]  # per view


def define(
    name: str,
    summary: str,
    views: Mapping[str, tuple[View, Sql]],
    int_params: Mapping[str, tuple[int, int]] | None = None,
    people: str | None = None,
) -> Defined:
    views_ = {k: v for k, (v, _) in views.items()}
    metric = Metric(name, summary, views_, int_params or {}, people)
    return Defined(metric, {k: s for k, (_, s) in views.items()})
