"""How the suite's tests are ordered and spread over pytest-xdist's workers (tests/conftest.py
calls these from its hooks).

`-n auto --dist loadgroup` (pyproject.toml) hands each worker one test at a time, in the order
collected, except that every test marked `xdist_group("serial")` goes to one worker, as one
unit, first. Two marks steer it:

- `serial`: the tests that run servers or workers as several processes, or open tens of
  PostgreSQL connections, with time bounds in their assertions. Run next to each other they
  would fight over the two cores (and PostgreSQL's 100 connections): one worker runs them one
  at a time, from the start, while the other works through the rest. Every test that forks
  `clinicflow` processes (support/forked_cli.py) is in it too, so one worker, not each,
  starts a fork server (its imports: ~4 s of CPU).
- `slow` (a test or a module): takes seconds, mostly in subprocesses. Collected first, so both
  workers start on them and finish together on the many quick tests, not one worker alone on
  a long one at the end.

The tests that read the simulated clinic's history (the ML models') come last, whatever their
marks: where the history is not made yet, it is made in the background from the start.
"""

from __future__ import annotations

import pytest

try:  # pytest >= 9.2 keeps a node's id structured
    from _pytest.nodeid import NodeId
except ImportError:  # pragma: no cover - older pytest
    NodeId = None  # type: ignore[assignment,misc]


# The session fixtures that read the simulated clinic's history (support/ml_history.py).
HISTORY = frozenset({"simulated_lake", "planning_lake"})


def reads_history(item: pytest.Item) -> bool:
    return not HISTORY.isdisjoint(getattr(item, "fixturenames", ()))


def order(items: list[pytest.Item]) -> None:
    """Slow tests first, then the rest, then those that read the ML history: on a machine
    that has yet to make it, it is made in the background meanwhile (tests/conftest.py).
    Each group keeps its collection order (a stable sort)."""
    items.sort(key=lambda item: (reads_history(item), item.get_closest_marker("slow") is None))


def join_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """What pytest-xdist's loadgroup does on a worker, for pytest versions where it no longer
    can: the group's name appended to the test's id (`...::test@serial`), which the scheduler
    reads. pytest 9.2 keeps ids structured and xdist 3.8 still sets the old string attribute,
    so without this every xdist_group is silently ignored (pytest-dev/pytest-xdist#1386)."""
    if not getattr(config.option, "loadgroup", False):  # set on workers for --dist loadgroup
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        groups = sorted({str(m.args[0] if m.args else m.kwargs["name"]) for m in marks})
        nodeid = item.nodeid
        if not groups or nodeid.rfind("@") > nodeid.rfind("]"):  # none, or xdist did it
            continue
        grouped = f"{nodeid}@{'_'.join(groups)}"
        if NodeId is not None and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(grouped)
        else:  # pragma: no cover - older pytest, where xdist's own suffix works
            item._nodeid = grouped
