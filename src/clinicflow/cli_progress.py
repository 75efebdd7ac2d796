"""Progress bars for the long commands (`retention run`, `keys reseal`, `payments reconcile`,
`events relay`): on stderr, so whatever a command prints on stdout stays clean for scripts,
and drawn only on a terminal (rich leaves no bar behind in a pipe or a log)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class Bar:
    """One task's bar; `total` None draws a pulsing bar for work of unknown size."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def advance(self, by: float = 1, note: str | None = None) -> None:
        self._progress.update(self._task, advance=by)
        if note is not None:
            self._progress.update(self._task, description=note)

    def total(self, total: float) -> None:
        """The size of the work, once known (or grown)."""
        self._progress.update(self._task, total=total)


@contextmanager
def progress_bar(
    description: str, total: float | None, console: Console | None = None
) -> Iterator[Bar]:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    on = console or Console(stderr=True)
    with Progress(*columns, console=on, transient=False) as progress:
        yield Bar(progress, progress.add_task(description, total=total))
